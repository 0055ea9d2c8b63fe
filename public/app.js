// AgentVine's small UI script (served from the binary, no inline script anywhere): theme toggle, menus,
// toasts from HX-Trigger, a confirm dialog for hx-confirm, dialogs, the request progress bar, error states,
// the live-connection badge, relative times, deadline countdowns, the Inbox badge, the log level filter
// and log auto-scroll.
(function () {
  "use strict";
  var doc = document;
  var root = doc.documentElement;

  // ---- theme: system -> light -> dark -> system; a cookie lets the server render it without a flash
  var THEMES = ["system", "light", "dark"];
  var LABELS = { system: "System", light: "Light", dark: "Dark" };
  function setTheme(theme) {
    if (theme === "system") {
      root.removeAttribute("data-theme");
      doc.cookie = "theme=; path=/; max-age=0; samesite=lax";
    } else {
      root.setAttribute("data-theme", theme);
      doc.cookie = "theme=" + theme + "; path=/; max-age=31536000; samesite=lax";
    }
    doc.querySelectorAll("[data-theme-label]").forEach(function (el) {
      el.textContent = LABELS[theme];
    });
  }

  // ---- toasts
  var TOAST_BADGE = { error: ["tone-err", "Error"], success: ["tone-ok", "Done"], info: ["tone-info", "Note"] };
  function dismissLater(el, level) {
    setTimeout(function () {
      el.remove();
    }, level === "error" ? 9000 : 4500);
  }
  function showToast(level, message) {
    var box = doc.getElementById("toasts");
    if (!box || !message) return;
    level = TOAST_BADGE[level] ? level : "info";
    var el = doc.createElement("div");
    el.className = "card flex items-start gap-2 p-3 text-sm shadow-lg";
    el.setAttribute("role", level === "error" ? "alert" : "status");
    el.setAttribute("data-toast", level);
    var badge = doc.createElement("span");
    badge.className = "badge " + TOAST_BADGE[level][0];
    badge.textContent = TOAST_BADGE[level][1];
    var text = doc.createElement("p");
    text.className = "min-w-0 flex-1 break-words";
    text.textContent = String(message);
    var close = doc.createElement("button");
    close.type = "button";
    close.className = "px-1 text-muted hover:text-fg";
    close.setAttribute("data-toast-close", "");
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "✕";
    el.append(badge, text, close);
    box.append(el);
    while (box.children.length > 4) box.firstElementChild.remove();
    dismissLater(el, level);
  }
  window.agentvineToast = showToast;

  doc.addEventListener("toast", function (e) {
    var d = e.detail || {};
    showToast(d.level, d.message);
  });

  // ---- menus (<details data-menu>, e.g. the user menu): a click elsewhere or Escape closes them
  function closeMenus(except) {
    doc.querySelectorAll("details[data-menu][open]").forEach(function (m) {
      if (m !== except) m.removeAttribute("open");
    });
  }
  doc.addEventListener("keydown", function (e) {
    if (e.key === "Escape") closeMenus(null);
  });

  // ---- clicks: menus, theme toggle, toast close, dialog open / close
  doc.addEventListener("click", function (e) {
    var t = e.target instanceof Element ? e.target : null;
    if (!t) return;
    closeMenus(t.closest("details[data-menu]"));
    var toggle = t.closest("[data-theme-toggle]");
    if (toggle) {
      var current = root.getAttribute("data-theme") || "system";
      setTheme(THEMES[(THEMES.indexOf(current) + 1) % THEMES.length]);
      return;
    }
    var copy = t.closest("[data-copy]");
    if (copy) {
      var source = doc.querySelector(copy.getAttribute("data-copy"));
      if (!source) return;
      source.select();
      // The clipboard API needs a secure context (HTTPS or localhost); otherwise the text stays selected.
      var done = function () {
        showToast("success", "Copied to the clipboard");
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(source.value).then(done, function () {
          showToast("info", "Selected: press Ctrl+C (⌘C) to copy");
        });
      } else {
        showToast("info", "Selected: press Ctrl+C (⌘C) to copy");
      }
      return;
    }
    var close = t.closest("[data-toast-close]");
    if (close) {
      close.closest("[data-toast]").remove();
      return;
    }
    var opener = t.closest("[data-dialog-open]");
    if (opener) {
      var dialog = doc.getElementById(opener.getAttribute("data-dialog-open"));
      if (dialog && dialog.showModal) {
        e.preventDefault();
        openDialog(dialog, opener);
      }
      return;
    }
    var closer = t.closest("[data-dialog-close]");
    if (closer) {
      var d = closer.closest("dialog");
      if (d) d.close();
    }
  });

  // The server opens a dialog once htmx loaded its content (HX-Trigger {"dialog:open": "<id>"}).
  doc.addEventListener("dialog:open", function (e) {
    var id = e.detail && e.detail.value;
    var dialog = id && doc.getElementById(id);
    if (!dialog || !dialog.showModal) return;
    if (!dialog.open) dialog.showModal();
    // After the swap settles, so the field exists.
    setTimeout(function () {
      var first = dialog.querySelector("[autofocus], input:not([type=hidden]), select, textarea");
      if (first) first.focus();
    }, 0);
  });

  // A modal dialog keeps focus inside it (showModal makes the rest of the page inert) and gives it back
  // to what opened it when it closes.
  function openDialog(dialog, opener) {
    dialog.showModal();
    var first = dialog.querySelector("[autofocus]") || dialog.querySelector("input:not([type=hidden]), select, textarea, button");
    if (first) first.focus();
    dialog.addEventListener(
      "close",
      function () {
        if (opener && opener.isConnected) opener.focus();
      },
      { once: true },
    );
  }

  // Tab and Shift+Tab wrap around inside an open modal dialog (the browser would step out to its own UI).
  doc.addEventListener("keydown", function (e) {
    if (e.key !== "Tab") return;
    var dialog = doc.querySelector("dialog[open]");
    if (!dialog) return;
    var stops = Array.prototype.filter.call(
      dialog.querySelectorAll("a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex='-1'])"),
      function (el) {
        return el.getClientRects().length > 0 && !el.closest("details:not([open]) > :not(summary)");
      },
    );
    if (stops.length === 0) return;
    var first = stops[0];
    var last = stops[stops.length - 1];
    if (!e.shiftKey && doc.activeElement === last) {
      e.preventDefault();
      first.focus();
    } else if (e.shiftKey && doc.activeElement === first) {
      e.preventDefault();
      last.focus();
    }
  });

  // The server closes a dialog after a successful form (HX-Trigger {"dialog:close": "<id>"}).
  doc.addEventListener("dialog:close", function (e) {
    var id = e.detail && e.detail.value;
    var dialog = id && doc.getElementById(id);
    if (dialog && dialog.open) dialog.close();
  });

  // ---- confirmation before destructive actions (hx-confirm), in a styled <dialog>
  doc.addEventListener("htmx:confirm", function (e) {
    var question = e.detail.question;
    if (!question) return;
    var dialog = doc.getElementById("confirm-dialog");
    if (!dialog || !dialog.showModal) return; // htmx falls back to window.confirm
    e.preventDefault();
    var elt = e.detail.elt;
    dialog.querySelector("[data-confirm-message]").textContent = question;
    dialog.querySelector("#confirm-title").textContent = elt.getAttribute("data-confirm-title") || "Are you sure?";
    dialog.querySelector("[data-confirm-ok]").textContent = elt.getAttribute("data-confirm-label") || "Confirm";
    dialog.returnValue = "";
    dialog.addEventListener(
      "close",
      function () {
        if (dialog.returnValue === "ok") e.detail.issueRequest(true);
      },
      { once: true },
    );
    openDialog(dialog, doc.activeElement instanceof HTMLElement ? doc.activeElement : null);
  });

  // ---- GET filters: leave empty fields out of the URL (it is pushed to the history)
  doc.addEventListener("htmx:configRequest", function (e) {
    if (e.detail.verb !== "get") return;
    var params = e.detail.parameters;
    var empty = [];
    params.forEach(function (value, key) {
      if (value === "") empty.push(key);
    });
    empty.forEach(function (key) {
      params.delete(key);
    });
  });

  // ---- request progress bar (not for background refreshes driven by live events)
  var inFlight = 0;
  function background(e) {
    var ev = e.detail && e.detail.requestConfig && e.detail.requestConfig.triggeringEvent;
    return !!(ev && typeof ev.type === "string" && (ev.type.indexOf("sse:") === 0 || ev.type === "every"));
  }
  doc.addEventListener("htmx:beforeRequest", function (e) {
    if (background(e)) return;
    inFlight++;
    root.classList.add("loading");
  });
  doc.addEventListener("htmx:afterRequest", function (e) {
    if (background(e)) return;
    inFlight = Math.max(0, inFlight - 1);
    if (inFlight === 0) root.classList.remove("loading");
  });

  // ---- errors: the server sends a toast (HX-Trigger) and, for a list, an error state to show in place
  doc.addEventListener("htmx:beforeSwap", function (e) {
    var xhr = e.detail.xhr;
    if (xhr.status >= 400 && xhr.getResponseHeader("X-Fragment") === "error" && e.detail.requestConfig.verb === "get") {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });
  // ---- a form that came back with errors (422): bring the first field in error into view and focus it
  // (the error toast, an alert, says what happened; the field's message is tied to it by aria-describedby)
  function firstInvalid(scope) {
    var candidates = scope.querySelectorAll('[aria-invalid="true"], .field-error, [data-invalid]');
    for (var i = 0; i < candidates.length; i++) {
      var el = candidates[i];
      if (el.matches("fieldset, [data-invalid]")) el = el.querySelector("input:not([type=hidden]), select, textarea, button") || el;
      if (el.getClientRects().length > 0) return el;
    }
    return null;
  }
  doc.addEventListener("htmx:afterSettle", function (e) {
    var xhr = e.detail && e.detail.xhr;
    if (!xhr || xhr.status !== 422) return;
    var dialog = doc.querySelector("dialog[open]");
    var field = firstInvalid(dialog || doc);
    if (!field) return;
    // Closed <details> (a step's "Timeout, retries, priority") open so the field can be seen.
    for (var d = field.closest("details"); d; d = d.parentElement && d.parentElement.closest("details")) d.open = true;
    field.scrollIntoView({ block: "center" });
    field.focus({ preventScroll: true });
  });

  doc.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail.xhr;
    if (!xhr.getResponseHeader("HX-Trigger")) showToast("error", "Request failed (" + xhr.status + " " + xhr.statusText + ")");
  });
  doc.addEventListener("htmx:sendError", function () {
    showToast("error", "The server did not answer. Check your connection and try again.");
  });

  // ---- the live badge: shown while an event stream is open, "Reconnecting…" when it dropped
  function live(state) {
    doc.querySelectorAll("[data-live-status]").forEach(function (el) {
      el.classList.remove("hidden");
      el.classList.add("flex");
      el.classList.toggle("text-warn", state !== "open");
      el.classList.toggle("text-ok", state === "open");
      el.querySelector("[data-live-text]").textContent = state === "open" ? "Live" : "Reconnecting…";
    });
  }
  doc.addEventListener("htmx:sseOpen", function () {
    live("open");
  });
  doc.addEventListener("htmx:sseError", function () {
    live("error");
  });

  // ---- relative times ("3 min ago") stay current
  function relative(iso) {
    var ms = Date.now() - Date.parse(iso);
    var s = Math.round(Math.abs(ms) / 1000);
    var fmt = function (n, unit) {
      return ms < 0 ? "in " + n + " " + unit : n + " " + unit + " ago";
    };
    if (s < 5) return "just now";
    if (s < 60) return fmt(s, "s");
    if (s < 3600) return fmt(Math.floor(s / 60), "min");
    if (s < 86400) return fmt(Math.floor(s / 3600), "h");
    return fmt(Math.floor(s / 86400), "d");
  }
  setInterval(function () {
    doc.querySelectorAll("time[data-rel]").forEach(function (el) {
      el.textContent = relative(el.getAttribute("datetime"));
    });
  }, 15000);

  // ---- deadline countdowns ("in 3 min 12 s", then "overdue") tick every second
  function countdown(iso) {
    var ms = Date.parse(iso) - Date.now();
    if (!(ms > 0)) return "overdue";
    var s = Math.ceil(ms / 1000);
    if (s < 60) return "in " + s + " s";
    var m = Math.floor(s / 60);
    if (m < 60) return "in " + m + " min " + (s % 60) + " s";
    var h = Math.floor(m / 60);
    if (h < 48) return "in " + h + " h " + (m % 60) + " min";
    return "in " + Math.floor(h / 24) + " d " + (h % 24) + " h";
  }
  setInterval(function () {
    doc.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var text = countdown(el.getAttribute("datetime"));
      if (el.textContent !== text) el.textContent = text;
    });
  }, 1000);

  // ---- the nav's Inbox badge: every page's event stream also carries the `requests` topic, and its event
  // refreshes the count (GET /inbox/badge); a page with no stream of its own opens one for the badge.
  function refreshBadge() {
    var slot = doc.querySelector("[data-inbox-slot]");
    if (slot && window.htmx) window.htmx.trigger(slot, "inbox:refresh");
  }
  function withRequestsTopic(url) {
    if (!doc.querySelector("[data-inbox-slot]") || url.indexOf("/events?") !== 0) return url;
    return url.replace(/([?&]topics=)([^&]*)/, function (all, key, topics) {
      return topics.split(",").indexOf("requests") >= 0 ? all : key + topics + ",requests";
    });
  }
  if (window.htmx) {
    var createSource = window.htmx.createEventSource;
    window.htmx.createEventSource = function (url) {
      var source = createSource ? createSource(withRequestsTopic(url)) : new EventSource(withRequestsTopic(url), { withCredentials: true });
      source.addEventListener("requests", refreshBadge);
      return source;
    };
  }
  function badgeStream() {
    var slot = doc.querySelector("[data-inbox-slot]");
    if (!slot || doc.querySelector("[sse-connect]") || !window.EventSource) return;
    var source = new EventSource("/events?topics=requests&v=" + encodeURIComponent(slot.getAttribute("data-v") || ""));
    source.addEventListener("requests", refreshBadge);
    window.addEventListener("pagehide", function () {
      source.close();
    });
  }

  // ---- running durations ("12.3 s…") count up while the page is open (the same format as the server's)
  function duration(ms) {
    if (ms < 1000) return Math.round(ms) + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
    var m = Math.floor(ms / 60000);
    var s = Math.round((ms % 60000) / 1000);
    if (m < 60) return m + " min " + s + " s";
    return Math.floor(m / 60) + " h " + (m % 60) + " min";
  }
  setInterval(function () {
    doc.querySelectorAll("time[data-since]").forEach(function (el) {
      el.textContent = duration(Math.max(0, Date.now() - Date.parse(el.getAttribute("datetime")))) + "…";
    });
  }, 1000);

  // ---- log level filter (CSS hides lower levels, so switching needs no request) and auto-scroll
  doc.addEventListener("change", function (e) {
    var sel = e.target;
    if (!(sel instanceof HTMLSelectElement) || !sel.hasAttribute("data-log-level")) return;
    var logs = doc.getElementById(sel.getAttribute("aria-controls"));
    if (logs) logs.setAttribute("data-min", sel.value);
  });
  doc.addEventListener("submit", function (e) {
    if (e.target instanceof HTMLFormElement && e.target.hasAttribute("data-log-filter")) e.preventDefault();
  });
  // Follow: the checkbox (on while the attempt runs) keeps the newest line in view; unticked, new lines
  // arrive without moving what you are reading.
  function following(list) {
    var box = doc.querySelector('[data-log-follow][aria-controls="' + list.id + '"]');
    return box ? box.checked : false;
  }
  doc.addEventListener("htmx:sseMessage", function (e) {
    var el = e.target;
    if (el.classList && el.classList.contains("logs")) {
      var empty = el.querySelector("[data-log-empty]");
      if (empty && el.children.length > 1) empty.remove();
      // The execution's line count in the attempts table follows the stream (seq numbers the lines from 1).
      var last = el.querySelector("li[data-seq]:last-child");
      var exec = el.getAttribute("data-execution");
      if (last && exec) {
        doc.querySelectorAll('[data-log-count="' + exec + '"]').forEach(function (c) {
          c.textContent = last.getAttribute("data-seq");
        });
      }
      filterLog(el);
      if (following(el)) el.scrollTop = el.scrollHeight;
    }
  });

  // ---- the plan editor: "Runs after" says a step's new name as it is typed (no request, so a box ticked
  // meanwhile is never overwritten by a late answer)
  doc.addEventListener("input", function (e) {
    var t = e.target;
    if (!(t instanceof HTMLInputElement) || !t.hasAttribute("data-step-name")) return;
    var name = t.value.trim() || "(unnamed)";
    doc.querySelectorAll('[data-dep-name="' + t.getAttribute("data-step-name") + '"]').forEach(function (label) {
      label.textContent = name;
    });
  });

  // ---- selecting rows for a bulk action (the Tasks page): the count, "select all", the buttons that need
  // a selection; kept across the list's live refreshes (a task finishing elsewhere must not clear it)
  function selection(kind) {
    return doc.querySelectorAll('input[data-select="' + kind + '"]');
  }
  function updateSelection(kind) {
    var boxes = selection(kind);
    var n = 0;
    boxes.forEach(function (b) {
      if (b.checked) n++;
    });
    doc.querySelectorAll("[data-selected-count]").forEach(function (el) {
      el.textContent = n === 0 ? "None selected" : n === 1 ? "1 selected" : n + " selected";
    });
    doc.querySelectorAll("[data-needs-selection]").forEach(function (b) {
      b.disabled = n === 0;
    });
    doc.querySelectorAll('[data-select-all="' + kind + '"]').forEach(function (all) {
      all.checked = n > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    });
  }
  doc.addEventListener("change", function (e) {
    var t = e.target;
    if (!(t instanceof HTMLInputElement)) return;
    var all = t.getAttribute("data-select-all");
    if (all) {
      selection(all).forEach(function (b) {
        b.checked = t.checked;
      });
      updateSelection(all);
    } else if (t.hasAttribute("data-select")) updateSelection(t.getAttribute("data-select"));
  });
  var keptSelection = null;
  doc.addEventListener("htmx:beforeSwap", function (e) {
    var target = e.detail && e.detail.target;
    if (!target || !target.querySelector || !target.querySelector("input[data-select]")) return;
    keptSelection = [];
    target.querySelectorAll("input[data-select]:checked").forEach(function (b) {
      keptSelection.push(b.value);
    });
  });
  doc.addEventListener("htmx:afterSwap", function () {
    if (keptSelection === null) return;
    var kept = keptSelection;
    keptSelection = null;
    var kind = null;
    doc.querySelectorAll("input[data-select]").forEach(function (b) {
      kind = b.getAttribute("data-select");
      if (kept.indexOf(b.value) !== -1) b.checked = true;
    });
    if (kind) updateSelection(kind);
  });
  // After a bulk action the server says tasks changed: nothing stays selected.
  doc.addEventListener("tasks:changed", function () {
    keptSelection = null;
    selection("task").forEach(function (b) {
      b.checked = false;
    });
    updateSelection("task");
  });

  // Search within the log: lines without the text are hidden (as you type; new lines are checked as they arrive).
  function filterLog(list) {
    var input = doc.querySelector('[data-log-search][aria-controls="' + list.id + '"]');
    var needle = input ? input.value.trim().toLowerCase() : "";
    var shown = 0;
    var total = 0;
    list.querySelectorAll("li[data-seq]").forEach(function (li) {
      total++;
      var hit = !needle || li.textContent.toLowerCase().indexOf(needle) !== -1;
      li.hidden = !hit;
      if (hit) shown++;
    });
    var note = list.parentElement && list.parentElement.querySelector("[data-log-matches]");
    if (note) {
      note.classList.toggle("hidden", !needle);
      note.textContent = needle ? shown + " of " + total + " lines contain “" + input.value.trim() + "”" : "";
    }
  }
  doc.addEventListener("input", function (e) {
    var t = e.target;
    if (!(t instanceof HTMLInputElement) || !t.hasAttribute("data-log-search")) return;
    var list = doc.getElementById(t.getAttribute("aria-controls"));
    if (list) filterLog(list);
  });
  doc.addEventListener("change", function (e) {
    var t = e.target;
    if (!(t instanceof HTMLInputElement) || !t.hasAttribute("data-log-follow") || !t.checked) return;
    var list = doc.getElementById(t.getAttribute("aria-controls"));
    if (list) list.scrollTop = list.scrollHeight;
  });
  function scrollLogs(scope) {
    (scope || doc).querySelectorAll(".logs").forEach(function (el) {
      el.scrollTop = el.scrollHeight;
    });
  }

  // ---- on load and after every swap: auto-dismiss server-rendered toasts, scroll logs to the end
  function init(scope) {
    if (!scope && doc.querySelector("[data-needs-selection]")) updateSelection("task");
    (scope || doc).querySelectorAll("#toasts [data-toast]").forEach(function (el) {
      dismissLater(el, el.getAttribute("data-toast"));
    });
    scrollLogs(scope);
  }
  if (doc.readyState === "loading")
    doc.addEventListener("DOMContentLoaded", function () {
      init();
      badgeStream();
    });
  else {
    init();
    badgeStream();
  }
  doc.addEventListener("htmx:load", function (e) {
    if (e.target && e.target.querySelectorAll && e.target !== doc.body) scrollLogs(e.target);
  });
})();
