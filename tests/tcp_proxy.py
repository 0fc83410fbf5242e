"""A TCP proxy that a test can cut and restore, to take a service away from
a server process without stopping the service itself."""

import socket
import threading

from .live import free_port

CHUNK = 65536


class TcpProxy:
    """Forward a loopback port to a target address until cut."""

    def __init__(self, target):
        self.target = target
        self.port = free_port()
        self._listener = None
        self._sockets = set()
        self._lock = threading.Lock()
        self._cut_marker = None
        self.tripped = False

    def start(self):
        """Listen and forward; also used to restore after a cut."""
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(
            target=self._accept, args=(self._listener,), daemon=True
        ).start()
        return self

    def cut(self):
        """Refuse new connections and drop every open one."""
        listener, self._listener = self._listener, None
        if listener is not None:
            _close(listener)
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _close(sock)

    def cut_when_sent(self, marker):
        """Cut as soon as a client has sent bytes containing marker, once
        they are forwarded: the service gets the request, the client never
        hears back."""
        with self._lock:
            self._cut_marker, self.tripped = marker, False

    def _forwarded(self, data):
        with self._lock:
            tripped = self._cut_marker is not None and self._cut_marker in data
            if tripped:
                self._cut_marker, self.tripped = None, True
        if tripped:
            self.cut()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update({client, upstream})
            for source, sink, forwarded in (
                (client, upstream, self._forwarded),
                (upstream, client, None),
            ):
                threading.Thread(
                    target=_pump, args=(source, sink, forwarded), daemon=True
                ).start()


def _pump(source, sink, forwarded):
    try:
        while data := source.recv(CHUNK):
            sink.sendall(data)
            if forwarded is not None:
                forwarded(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
