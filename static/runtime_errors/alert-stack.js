/* The alert stack: the newest active errors, live, on every staff page.
 *
 * Every server message carries the whole stack, so the stack is always drawn
 * from the last message alone. While the socket is down the page says so,
 * reconnects with growing delays, and polls the feed unless polling is
 * switched off (data-polling="off"); on reconnecting the server's snapshot
 * brings the stack up to date.
 */
(function () {
  "use strict";

  var root = document.getElementById("alert-stack");
  if (!root) {
    return;
  }

  var list = root.querySelector(".alert-stack-list");
  var statusLine = root.querySelector(".alert-stack-status");
  var summary = root.querySelector(".alert-stack-summary");
  var announcer = root.querySelector(".alert-stack-announcer");
  var dismissAll = root.querySelector(".alert-stack-dismiss-all");
  var toggle = root.querySelector(".alert-stack-toggle");
  var COLLAPSED_KEY = "runtime-errors.alert-stack.collapsed";
  var feedUrl = root.dataset.feedUrl;
  var bulkViewedUrl = root.dataset.bulkViewedUrl;
  var pollingEnabled = root.dataset.polling !== "off";
  var pollInterval = Number(root.dataset.pollInterval) || 5000;

  var MIN_RETRY_DELAY = 500;
  var MAX_RETRY_DELAY = 10000;
  var TIME_REFRESH = 15000;
  var NO_MESSAGE_TEXT = "(no message text)";
  var ANNOUNCED_LENGTH = 150;
  var SESSION_ENDED_TEXT = "Your session has ended; reload the page to sign in again.";
  var RECONNECTING_TEXT = "Live updates lost; reconnecting…";
  var REFUSED_CODE = 4403;
  var BIDI_CONTROLS = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

  var viewedIds = new Set();
  var serverStack = [];
  var serverCount = 0;
  var latestSeen = 0;
  var shown = [];
  var activeCount = 0;
  var awaitingAlerts = false;
  var sessionEnded = false;
  var retryDelay = MIN_RETRY_DELAY;
  var pollTimer = null;
  var hasRendered = false;
  var degradedCode = 4503;
  var degradedText = "The journal is degraded: its database is unavailable; retrying.";

  function socketUrl() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + root.dataset.socketPath;
  }

  function csrfToken() {
    // The cookie first: a login in another tab rotates the token, and the
    // one this page was rendered with is refused from then on.
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : root.dataset.csrfToken || "";
  }

  function safeHref(url) {
    if (typeof url !== "string") {
      return null;
    }
    try {
      var parsed = new URL(url, window.location.href);
      var scheme = parsed.protocol;
      return scheme === "http:" || scheme === "https:" ? parsed.href : null;
    } catch (error) {
      return null;
    }
  }

  function relativeTime(iso) {
    var seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (seconds < 45) {
      return "just now";
    }
    // Whole units elapsed, so that 59 minutes never reads as "60 min ago".
    if (seconds < 3600) {
      return Math.max(1, Math.floor(seconds / 60)) + " min ago";
    }
    if (seconds < 86400) {
      return Math.floor(seconds / 3600) + " h ago";
    }
    return Math.floor(seconds / 86400) + " d ago";
  }

  function firstLine(text) {
    var lines = String(text || "").split(/\r\n|\r|\n/);
    for (var i = 0; i < lines.length; i += 1) {
      if (lines[i].trim() !== "") {
        return lines[i];
      }
    }
    return NO_MESSAGE_TEXT;
  }

  function visibleControls(text) {
    // A bidirectional control would reorder what the alert shows ("user
    // \u202eNIMDA" reads "user ADMIN"), so each one is shown as its code.
    return String(text).replace(BIDI_CONTROLS, function (control) {
      return "⟨U+" + control.charCodeAt(0).toString(16).toUpperCase() + "⟩";
    });
  }

  function levelName(error) {
    return String(error.level).replace(/[^a-z]/g, "");
  }

  function textNode(tag, className, text) {
    var node = document.createElement(tag);
    node.className = className;
    node.textContent = text;
    return node;
  }

  function serviceText(tag, className, text) {
    // Service text runs in its own direction, isolated from its neighbours.
    var node = textNode(tag, className, visibleControls(text));
    node.dir = "auto";
    return node;
  }

  function link(text, href, className, label) {
    var anchor = textNode("a", className, text);
    anchor.href = href;
    anchor.rel = "noopener noreferrer";
    anchor.setAttribute("aria-label", label);
    return anchor;
  }

  function alertHead(error) {
    var head = document.createElement("div");
    head.className = "alert-head";
    var when = textNode("time", "alert-time", relativeTime(error.last_seen_at));
    when.dateTime = error.last_seen_at;
    when.title = error.last_seen_at;
    head.append(
      textNode("span", "alert-level", levelName(error)),
      serviceText("span", "alert-source", error.source),
      when
    );
    return head;
  }

  function alertFoot(error) {
    var foot = document.createElement("div");
    foot.className = "alert-foot";
    var about = levelName(error) + " from " + visibleControls(error.source);
    if (error.occurrences > 1) {
      var count = textNode("span", "alert-count", "×" + error.occurrences);
      count.title = error.occurrences + " occurrences";
      foot.append(count);
    }
    var details = safeHref(error.url);
    if (details) {
      foot.append(link("Details", details, "alert-details", "Details of " + about));
    }
    var run = error.links ? safeHref(error.links.run_id) : null;
    if (run) {
      foot.append(link("Run", run, "alert-run", "Run of " + about));
    }
    var dismiss = textNode("button", "alert-dismiss", "Dismiss");
    dismiss.type = "button";
    dismiss.setAttribute("aria-label", "Dismiss " + about);
    dismiss.addEventListener("click", function () {
      dismissErrors([error.id]);
    });
    foot.append(dismiss);
    return foot;
  }

  function alertItem(error) {
    var item = document.createElement("li");
    item.className = "alert level-" + levelName(error);
    item.dataset.id = String(error.id);
    var message = serviceText("p", "alert-message", firstLine(error.message));
    // The message is clamped to a few lines; the tooltip and the details
    // page have all of it.
    message.title = message.textContent;
    item.append(alertHead(error), message, alertFoot(error));
    return item;
  }

  function focusedAlert() {
    var focused = document.activeElement;
    var item = focused && list.contains(focused) ? focused.closest("li.alert") : null;
    if (!item) {
      return null;
    }
    return {
      id: item.dataset.id,
      control: focused.className,
      index: Array.prototype.indexOf.call(list.children, item)
    };
  }

  function restoreFocus(previous) {
    // Keyboard focus stays on the same alert when others come and go; when
    // its own alert leaves, focus moves to the one that took its place.
    if (previous === null) {
      return;
    }
    var items = Array.prototype.slice.call(list.children);
    var same = items.filter(function (item) {
      return item.dataset.id === previous.id;
    })[0];
    var target = same || items[Math.min(previous.index, items.length - 1)];
    var control = null;
    if (target) {
      control = (same && previous.control &&
        target.querySelector("." + previous.control.split(" ")[0])) ||
        target.querySelector(".alert-dismiss");
    }
    (control || root).focus();
  }

  function focusFirstAlert() {
    // Once "Dismiss all shown" hides itself, focus stays in the stack: on
    // the first alert's Dismiss, or on the stack itself (the toggle is
    // hidden while it is empty) until alerts come back.
    var first = list.querySelector(".alert-dismiss");
    var holder = root.classList.contains("is-empty") ? root : toggle;
    (first || holder).focus();
    awaitingAlerts = !first;
  }

  function render() {
    var focused = focusedAlert();
    var holding = document.activeElement === root || document.activeElement === toggle;
    awaitingAlerts = awaitingAlerts && holding;
    var keepInStack = awaitingAlerts || document.activeElement === dismissAll;
    shown = serverStack.filter(function (error) {
      return !viewedIds.has(error.id);
    });
    var hiddenHere = serverStack.length - shown.length;
    activeCount = Math.max(serverCount - hiddenHere, shown.length);
    list.replaceChildren.apply(list, shown.map(alertItem));
    renderSummary();
    dismissAll.hidden = shown.length === 0;
    root.classList.toggle("is-empty", shown.length === 0);
    root.dataset.rendered = "yes";
    restoreFocus(focused);
    if (keepInStack && (awaitingAlerts || dismissAll.hidden)) {
      focusFirstAlert();
    }
  }

  function renderSummary() {
    var hidden = Math.max(0, activeCount - shown.length);
    var text = "";
    if (activeCount > 0) {
      text = activeCount + " active error" + (activeCount === 1 ? "" : "s");
      if (hidden > 0) {
        text += ", " + hidden + " more not shown";
      }
    }
    summary.textContent = text;
  }

  function seenAt(error) {
    return Date.parse(error.last_seen_at) || 0;
  }

  function freshErrors(message) {
    // Only what the server reports as new or repeated is read out, never an
    // older error that merely comes into view when another is dismissed.
    var reported = message.type === "runtime_error.created" ||
      message.type === "runtime_error.updated";
    var fresh = reported && message.error ? [message.error] :
      message.stack.filter(function (error) {
        return seenAt(error) > latestSeen;
      });
    return fresh.filter(function (error) {
      return !viewedIds.has(error.id);
    });
  }

  function shortened(text) {
    var characters = Array.from(text);
    if (characters.length <= ANNOUNCED_LENGTH) {
      return text;
    }
    return characters.slice(0, ANNOUNCED_LENGTH - 1).join("") + "…";
  }

  function announce(message) {
    // The first render after page load is what the page already shows.
    var fresh = hasRendered ? freshErrors(message) : [];
    hasRendered = true;
    message.stack.concat(fresh).forEach(function (error) {
      latestSeen = Math.max(latestSeen, seenAt(error));
    });
    if (fresh.length === 0) {
      return;
    }
    var newest = fresh[0];
    var more = Array.isArray(message.ids) && message.error ?
      message.ids.length - 1 : fresh.length - 1;
    var kind = message.type === "runtime_error.updated" ? "Repeated " : "New ";
    var text = kind + levelName(newest) + " from " + visibleControls(newest.source) +
      ": " + shortened(visibleControls(firstLine(newest.message)));
    if (more > 0) {
      text += " (and " + more + " more)";
    }
    announcer.textContent = text;
  }

  function refreshTimes() {
    list.querySelectorAll("time.alert-time").forEach(function (node) {
      node.textContent = relativeTime(node.dateTime);
    });
  }

  function handleMessage(message) {
    if (message && message.type === "journal.degraded") {
      setStatus(degradedText);
      return;
    }
    if (!message || !Array.isArray(message.stack)) {
      return;
    }
    var gone = message.type === "runtime_error.viewed" ||
      message.type === "runtime_error.deleted";
    if (gone && Array.isArray(message.ids)) {
      message.ids.forEach(function (id) {
        viewedIds.add(id);
      });
    }
    if (message.type === "runtime_error.updated" && message.error &&
        viewedIds.has(message.error.id)) {
      return;
    }
    root.dataset.lastMessage = String(message.type);
    announce(message);
    serverStack = message.stack;
    serverCount = Number(message.active_count) || 0;
    render();
  }

  function setStatus(text) {
    statusLine.textContent = text;
    root.classList.toggle("is-degraded", text !== "");
  }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
      body: JSON.stringify(body)
    });
  }

  function dismissErrors(ids) {
    ids.forEach(function (id) {
      viewedIds.add(id);
    });
    render();
    postJson(bulkViewedUrl, {ids: ids}).then(function (response) {
      if (!response.ok) {
        var refusal = new Error("dismiss refused");
        refusal.status = response.status;
        throw refusal;
      }
      if (sessionEnded) {
        sessionEnded = false;
        setStatus(root.dataset.socket === "closed" ? RECONNECTING_TEXT : "");
      }
    }).catch(function (error) {
      ids.forEach(function (id) {
        viewedIds.delete(id);
      });
      render();
      // A 403 means the session this page runs on is gone: retrying cannot
      // help, reloading (and signing in) does.
      sessionEnded = sessionEnded || error.status === 403;
      setStatus(sessionEnded ? SESSION_ENDED_TEXT : "Could not dismiss; try again.");
      pollFeed();
    });
  }

  function pollFeed() {
    var headers = {Accept: "application/json"};
    return fetch(feedUrl, {credentials: "same-origin", headers: headers})
      .then(function (response) {
        if (response.status === 503) {
          setStatus(degradedText);
          return null;
        }
        if (!response.ok) {
          throw new Error("feed unavailable");
        }
        return response.json();
      })
      .then(function (feed) {
        if (feed) {
          handleMessage({type: "feed", stack: feed.results, active_count: feed.active_count});
        }
      })
      .catch(function () {
        return null;
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

  function nextRetryDelay() {
    // Jitter spreads the reconnections of many tabs after a restart.
    var delay = retryDelay * (0.75 + Math.random() * 0.5);
    retryDelay = Math.min(MAX_RETRY_DELAY, retryDelay * 2);
    return delay;
  }

  function connect() {
    var socket = new WebSocket(socketUrl());
    socket.addEventListener("open", function () {
      root.dataset.socket = "open";
    });
    socket.addEventListener("message", function (event) {
      var message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (message && message.type === "snapshot") {
        // Only a snapshot shows the journal is serving: a degraded journal
        // also accepts the socket, then closes it, and must be retried with
        // growing delays, not every half second.
        retryDelay = MIN_RETRY_DELAY;
        sessionEnded = false;
        stopPolling();
        setStatus("");
      }
      handleMessage(message);
    });
    socket.addEventListener("close", function (event) {
      root.dataset.socket = "closed";
      sessionEnded = sessionEnded || event.code === REFUSED_CODE;
      if (event.code === degradedCode) {
        setStatus(degradedText);
      } else {
        setStatus(sessionEnded ? SESSION_ENDED_TEXT : RECONNECTING_TEXT);
      }
      startPolling();
      window.setTimeout(connect, nextRetryDelay());
    });
  }

  function setCollapsed(collapsed) {
    root.classList.toggle("is-collapsed", collapsed);
    toggle.setAttribute("aria-expanded", String(!collapsed));
    toggle.textContent = collapsed ? "Show alerts" : "Hide alerts";
    try {
      window.localStorage.setItem(COLLAPSED_KEY, collapsed ? "1" : "0");
    } catch (error) {
      return;
    }
  }

  function storedCollapsed() {
    try {
      return window.localStorage.getItem(COLLAPSED_KEY) === "1";
    } catch (error) {
      return false;
    }
  }

  toggle.addEventListener("click", function () {
    setCollapsed(!root.classList.contains("is-collapsed"));
  });
  setCollapsed(storedCollapsed());

  dismissAll.addEventListener("click", function () {
    dismissErrors(shown.map(function (error) {
      return error.id;
    }));
  });

  window.setInterval(refreshTimes, TIME_REFRESH);
  connect();
}());
