/* The alert stack: the newest active errors, live, on every staff page. */
(function () {
  "use strict";

  var root = document.getElementById("alert-stack");
  if (!root) {
    return;
  }

  var list = root.querySelector(".alert-stack-list");
  var statusLine = root.querySelector(".alert-stack-status");
  var summary = root.querySelector(".alert-stack-summary");
  var dismissAll = root.querySelector(".alert-stack-dismiss-all");
  var feedUrl = root.dataset.feedUrl;
  var bulkViewedUrl = root.dataset.bulkViewedUrl;
  var pollingEnabled = root.dataset.polling !== "off";

  var viewedIds = new Set();
  var shown = [];
  var socket = null;
  var retryDelay = 500;
  var maxRetryDelay = 15000;
  var pollTimer = null;
  var pollInterval = 5000;
  var degradedCode = 4503;
  var degradedText = "The journal is degraded: its database is unavailable; retrying.";

  function socketUrl() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + root.dataset.socketPath;
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function safeHref(url) {
    if (typeof url !== "string") {
      return null;
    }
    try {
      var parsed = new URL(url, window.location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (error) {
      return null;
    }
  }

  function relativeTime(iso) {
    var seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (seconds < 45) {
      return "just now";
    }
    if (seconds < 3600) {
      return Math.round(seconds / 60) + " min ago";
    }
    if (seconds < 86400) {
      return Math.round(seconds / 3600) + " h ago";
    }
    return Math.round(seconds / 86400) + " d ago";
  }

  function firstLine(text) {
    return String(text || "").split("\n", 1)[0];
  }

  function link(text, href, className) {
    var anchor = document.createElement("a");
    anchor.textContent = text;
    anchor.href = href;
    anchor.className = className;
    anchor.rel = "noopener noreferrer";
    return anchor;
  }

  function alertItem(error) {
    var item = document.createElement("li");
    item.className = "alert level-" + String(error.level).replace(/[^a-z]/g, "");
    item.dataset.id = String(error.id);

    var head = document.createElement("div");
    head.className = "alert-head";
    var level = document.createElement("span");
    level.className = "alert-level";
    level.textContent = error.level;
    var source = document.createElement("span");
    source.className = "alert-source";
    source.textContent = error.source;
    var when = document.createElement("time");
    when.className = "alert-time";
    when.dateTime = error.last_seen_at;
    when.textContent = relativeTime(error.last_seen_at);
    head.append(level, source, when);

    var message = document.createElement("p");
    message.className = "alert-message";
    message.textContent = firstLine(error.message);

    var foot = document.createElement("div");
    foot.className = "alert-foot";
    if (error.occurrences > 1) {
      var count = document.createElement("span");
      count.className = "alert-count";
      count.textContent = "×" + error.occurrences;
      foot.append(count);
    }
    var details = safeHref(error.url);
    if (details) {
      foot.append(link("Details", details, "alert-details"));
    }
    var run = error.links ? safeHref(error.links.run_id) : null;
    if (run) {
      foot.append(link("Run", run, "alert-run"));
    }
    var dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "alert-dismiss";
    dismiss.textContent = "Dismiss";
    dismiss.setAttribute("aria-label", "Dismiss " + error.level + " from " + error.source);
    dismiss.addEventListener("click", function () {
      dismissErrors([error.id]);
    });
    foot.append(dismiss);

    item.append(head, message, foot);
    return item;
  }

  function render(stack, activeCount) {
    shown = stack.filter(function (error) {
      return !viewedIds.has(error.id);
    });
    var items = shown.map(alertItem);
    list.replaceChildren.apply(list, items);
    var hidden = Math.max(0, activeCount - shown.length);
    summary.textContent = activeCount > 0
      ? activeCount + " active error" + (activeCount === 1 ? "" : "s") + (hidden > 0 ? " (" + hidden + " more not shown)" : "")
      : "";
    dismissAll.hidden = shown.length === 0;
    root.classList.toggle("is-empty", shown.length === 0);
  }

  function refreshTimes() {
    list.querySelectorAll("time.alert-time").forEach(function (node) {
      node.textContent = relativeTime(node.dateTime);
    });
  }

  function handleMessage(message) {
    if (message.type === "journal.degraded") {
      setStatus(degradedText);
      return;
    }
    if (message.type === "runtime_error.viewed") {
      message.ids.forEach(function (id) {
        viewedIds.add(id);
      });
    }
    if (message.type === "runtime_error.updated" && message.error && viewedIds.has(message.error.id)) {
      return;
    }
    render(message.stack || [], message.active_count || 0);
  }

  function setStatus(text) {
    statusLine.textContent = text;
    root.classList.toggle("is-degraded", text !== "");
  }

  function dismissErrors(ids) {
    ids.forEach(function (id) {
      viewedIds.add(id);
    });
    render(shown, Math.max(0, shown.length));
    fetch(bulkViewedUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
      body: JSON.stringify({ids: ids})
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("dismiss failed");
      }
      return pollFeed();
    }).catch(function () {
      ids.forEach(function (id) {
        viewedIds.delete(id);
      });
      setStatus("Could not dismiss; try again.");
      pollFeed();
    });
  }

  function pollFeed() {
    return fetch(feedUrl, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) {
        if (response.status === 503) {
          setStatus(degradedText);
          return null;
        }
        if (!response.ok) {
          throw new Error("feed failed");
        }
        return response.json();
      })
      .then(function (feed) {
        if (feed) {
          render(feed.results, feed.active_count);
        }
      })
      .catch(function () {
        setStatus("The journal is unreachable; retrying.");
      });
  }

  function startPolling() {
    if (pollingEnabled && pollTimer === null) {
      pollTimer = window.setInterval(pollFeed, pollInterval);
    }
  }

  function stopPolling() {
    if (pollTimer !== null) {
      window.clearInterval(pollTimer);
      pollTimer = null;
    }
  }

  function connect() {
    socket = new WebSocket(socketUrl());
    socket.addEventListener("open", function () {
      retryDelay = 500;
      setStatus("");
      stopPolling();
      root.dataset.socket = "open";
    });
    socket.addEventListener("message", function (event) {
      var message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      handleMessage(message);
    });
    socket.addEventListener("close", function (event) {
      root.dataset.socket = "closed";
      setStatus(event.code === degradedCode ? degradedText : "Live updates lost; reconnecting…");
      startPolling();
      window.setTimeout(connect, retryDelay);
      retryDelay = Math.min(maxRetryDelay, retryDelay * 2);
    });
  }

  dismissAll.addEventListener("click", function () {
    dismissErrors(shown.map(function (error) {
      return error.id;
    }));
  });

  document.querySelectorAll("button.dismiss-error").forEach(function (button) {
    button.addEventListener("click", function () {
      fetch(button.dataset.viewedUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {"X-CSRFToken": csrfToken()}
      }).then(function (response) {
        if (response.ok) {
          window.location.reload();
        }
      });
    });
  });

  window.setInterval(refreshTimes, 15000);
  connect();
}());
