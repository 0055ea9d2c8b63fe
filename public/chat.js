// The Chat page's script (loaded by that page only; no inline script anywhere): the open conversation's
// WebSocket (new and edited messages, typing, reconnect with catch-up), auto-scroll that stops while the
// reader is scrolled up, the composer (grows, Enter sends, Shift+Enter is a newline, sending state,
// replies, answering a question's options, attachments), editing one's own messages, the context sidebar
// toggle, and switching conversations without reloading the page.
(function () {
  "use strict";
  var doc = document;
  var root = doc.querySelector("[data-chat]");
  if (!root) return;
  var userId = root.getAttribute("data-user-id");
  var toast = function (level, message) {
    if (window.agentvineToast) window.agentvineToast(level, message);
  };

  var state = { ws: null, conv: null, retry: 0, timer: null, closedFor: null, pending: {}, typingTimer: null, lastTypingSent: 0, clientSeq: 0 };

  function pane() {
    return doc.querySelector("[data-chat-pane][data-conversation-id]");
  }
  function list() {
    return doc.getElementById("msg-list");
  }

  // ---- messages in the list
  function markMine(scope) {
    (scope || doc).querySelectorAll('.msg[data-sender-type="human"]').forEach(function (el) {
      el.classList.toggle("msg-mine", el.getAttribute("data-sender-id") === userId);
    });
  }
  function nearBottom(el) {
    return el.scrollHeight - el.scrollTop - el.clientHeight < 60;
  }
  function scrollToEnd() {
    var el = list();
    if (el) el.scrollTop = el.scrollHeight;
    var pill = doc.querySelector("[data-new-messages]");
    if (pill) pill.hidden = true;
  }
  function lastSeq() {
    var items = doc.querySelectorAll("#msg-list .msg[data-seq]");
    return items.length ? Number(items[items.length - 1].getAttribute("data-seq")) : 0;
  }
  function lastId() {
    var items = doc.querySelectorAll("#msg-list .msg[data-message-id]");
    return items.length ? items[items.length - 1].getAttribute("data-message-id") : null;
  }
  function fragmentOf(html) {
    var t = doc.createElement("template");
    t.innerHTML = html;
    return t.content;
  }
  /** Whether a message belongs in the list shown (the whole conversation, or one thread). */
  function belongs(message) {
    var p = pane();
    var thread = p && p.getAttribute("data-thread");
    return !thread || message.id === thread || message.parent_message_id === thread;
  }
  function insertMessage(message, html) {
    var el = list();
    if (!el || !belongs(message)) return;
    var existing = doc.getElementById("m-" + message.id);
    var stick = nearBottom(el);
    var node = fragmentOf(html).firstElementChild;
    if (!node) return;
    if (existing) existing.replaceWith(node);
    else {
      var empty = el.querySelector("[data-msg-empty]");
      if (empty) empty.remove();
      el.appendChild(node);
    }
    markMine(node.parentNode);
    if (window.htmx) window.htmx.process(node);
    // An answer closes its question's option buttons; a reply bumps its root's count.
    if (message.message_type === "answer" && message.metadata && message.metadata.request_id) {
      doc.querySelectorAll('[data-answer-options="' + cssEscape(message.metadata.request_id) + '"]').forEach(function (b) {
        b.remove();
      });
    }
    if (!existing && message.parent_message_id) bumpReplies(message.parent_message_id);
    var mine = message.sender_type === "human" && message.sender_id === userId;
    if (stick || mine) scrollToEnd();
    else {
      var pill = doc.querySelector("[data-new-messages]");
      if (pill) pill.hidden = false;
    }
    if (doc.visibilityState === "visible") sendFrame({ type: "read", seq: message.seq });
  }
  function bumpReplies(rootId) {
    var rootEl = doc.getElementById("m-" + rootId);
    if (!rootEl) return;
    var link = rootEl.querySelector("[data-reply-count]");
    var n = link ? Number(link.getAttribute("data-reply-count")) + 1 : 1;
    if (!link) {
      var bar = rootEl.querySelector(".msg-bubble > div:last-of-type");
      if (!bar) return;
      link = doc.createElement("a");
      link.className = "link px-2";
      link.setAttribute("href", "?thread=" + rootId);
      link.setAttribute("data-thread-link", rootId);
      bar.appendChild(link);
    }
    link.setAttribute("data-reply-count", String(n));
    link.textContent = n + (n === 1 ? " reply" : " replies");
  }
  function cssEscape(s) {
    return window.CSS && CSS.escape ? CSS.escape(s) : String(s).replace(/["\\]/g, "\\$&");
  }

  // ---- the socket
  function status(text, ok) {
    var box = doc.querySelector("[data-socket-status]");
    if (!box) return;
    box.classList.remove("hidden");
    box.classList.add("flex");
    box.classList.toggle("text-ok", !!ok);
    box.classList.toggle("text-warn", !ok);
    var label = box.querySelector("[data-socket-text]");
    if (label) label.textContent = text;
  }
  function sendFrame(frame) {
    if (state.ws && state.ws.readyState === 1) {
      state.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }
  function connect() {
    var p = pane();
    if (!p) return;
    var conv = p.getAttribute("data-conversation-id");
    if (state.ws && state.conv === conv && state.ws.readyState <= 1) return;
    disconnect();
    state.conv = conv;
    state.closedFor = null;
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/v1/chat/ws/" + encodeURIComponent(conv) + "?html=1";
    var ws = new WebSocket(url);
    state.ws = ws;
    status("Connecting…", false);
    ws.onopen = function () {
      if (state.ws !== ws) return;
      var wasRetry = state.retry > 0;
      state.retry = 0;
      status("Live", true);
      if (wasRetry) catchUp();
    };
    ws.onmessage = function (e) {
      if (state.ws !== ws) return;
      var data;
      try {
        data = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      onFrame(data);
    };
    ws.onclose = function (e) {
      if (state.ws !== ws) return;
      state.ws = null;
      failPending("The connection closed before the server confirmed");
      if (e.code === 4401) {
        state.closedFor = "access";
        status("Signed out", false);
        toast("error", "Your session ended: sign in again to keep chatting");
        return;
      }
      if (e.code === 4404) {
        status("Deleted", false);
        toast("error", "This conversation was deleted");
        return;
      }
      status("Reconnecting…", false);
      var delay = Math.min(15000, 500 * Math.pow(2, state.retry++));
      state.timer = setTimeout(connect, delay);
    };
  }
  function disconnect() {
    clearTimeout(state.timer);
    if (state.ws) {
      var ws = state.ws;
      state.ws = null;
      try {
        ws.close(1000, "switching");
      } catch (err) {
        /* already closed */
      }
    }
  }
  /** After a reconnect: what was posted meanwhile (the page asks the server for what follows the last one). */
  function catchUp() {
    var after = lastId();
    if (!after || !state.conv) return;
    var p = pane();
    var thread = p && p.getAttribute("data-thread");
    fetch("/chat/" + encodeURIComponent(state.conv) + "/messages?after=" + encodeURIComponent(after) + (thread ? "&thread=" + encodeURIComponent(thread) : ""), {
      headers: { "HX-Request": "true" },
      credentials: "same-origin",
    })
      .then(function (r) {
        return r.ok ? r.text() : "";
      })
      .then(function (html) {
        if (!html) return;
        var frag = fragmentOf(html);
        Array.prototype.slice.call(frag.children).forEach(function (node) {
          var id = node.getAttribute("data-message-id");
          if (id && !doc.getElementById("m-" + id) && list()) list().appendChild(node);
        });
        markMine(list());
        scrollToEnd();
      });
  }
  var typingNames = {};
  function onFrame(data) {
    if (data.type === "message" || data.type === "message_edited") {
      insertMessage(data.message, data.html);
    } else if (data.type === "ack") {
      var done = state.pending[data.client_id];
      delete state.pending[data.client_id];
      if (done) done(null, data.message);
    } else if (data.type === "error") {
      var fail = data.client_id && state.pending[data.client_id];
      if (fail) {
        delete state.pending[data.client_id];
        fail(data.error);
      } else toast("error", (data.error && data.error.message) || "The server refused that");
    } else if (data.type === "typing" && data.user) {
      typingNames[data.user.username] = Date.now();
      showTyping();
    } else if (data.type === "hello") {
      if (doc.visibilityState === "visible") sendFrame({ type: "read", seq: lastSeq() });
    }
  }
  function showTyping() {
    var box = doc.querySelector("[data-typing]");
    if (!box) return;
    var now = Date.now();
    var names = Object.keys(typingNames).filter(function (n) {
      return now - typingNames[n] < 4000;
    });
    box.textContent = names.length ? names.join(", ") + (names.length === 1 ? " is" : " are") + " typing…" : "";
    clearTimeout(state.typingTimer);
    if (names.length) state.typingTimer = setTimeout(showTyping, 1000);
  }
  function failPending(message) {
    Object.keys(state.pending).forEach(function (k) {
      var f = state.pending[k];
      delete state.pending[k];
      f({ message: message });
    });
  }

  // ---- posting: over the socket when it is open (acknowledged), else the JSON API
  function post(text, parentId) {
    return new Promise(function (resolve, reject) {
      var clientId = "c" + ++state.clientSeq;
      var frame = { type: "message", message: text, client_id: clientId };
      if (parentId) frame.parent_message_id = parentId;
      state.pending[clientId] = function (err, message) {
        if (err) reject(err);
        else resolve(message);
      };
      if (sendFrame(frame)) return;
      delete state.pending[clientId];
      var body = { message: text };
      if (parentId) body.parent_message_id = parentId;
      apiJson("POST", "/api/v1/chat/conversations/" + encodeURIComponent(state.conv) + "/messages", body).then(resolve, reject);
    });
  }
  function apiJson(method, url, body) {
    return fetch(url, { method: method, credentials: "same-origin", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw (j && j.error) || { message: "Request failed (" + r.status + ")" };
        return j;
      });
    });
  }

  function composer() {
    return doc.querySelector("[data-composer]");
  }
  /** Grows the textarea with its text, up to 8 rows (by rows, not a style: htmx copies style attributes under the CSP). */
  function grow(ta) {
    ta.rows = 1;
    while (ta.scrollHeight > ta.clientHeight + 1 && ta.rows < 8) ta.rows++;
  }
  function setReply(id, name, excerpt) {
    var form = doc.querySelector("[data-chat-form]");
    if (!form) return;
    form.querySelector("[data-parent-input]").value = id || "";
    var banner = form.querySelector("[data-reply-banner]");
    banner.hidden = !id;
    if (id) banner.querySelector("[data-reply-text]").textContent = "Replying to " + name + ": " + excerpt;
    var ta = composer();
    if (ta) ta.focus();
  }
  function sending(form, on) {
    var button = form.querySelector("[data-send]");
    var spin = form.querySelector("[data-sending]");
    if (button) button.disabled = on;
    if (spin) spin.classList.toggle("hidden", !on);
    form.setAttribute("aria-busy", on ? "true" : "false");
  }
  function submit(form) {
    var ta = composer();
    var text = ta.value;
    if (!text.trim()) {
      toast("info", "Write something first");
      return;
    }
    var p = pane();
    var thread = p && p.getAttribute("data-thread");
    var parentId = form.querySelector("[data-parent-input]").value || thread || null;
    sending(form, true);
    post(text, parentId).then(
      function () {
        sending(form, false);
        ta.value = "";
        grow(ta);
        if (!thread) setReply(null);
        ta.focus();
      },
      function (err) {
        sending(form, false);
        toast("error", (err && err.message) || "The message was not sent");
      },
    );
  }

  doc.addEventListener("submit", function (e) {
    var form = e.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-chat-form")) return;
    e.preventDefault();
    submit(form);
  });
  doc.addEventListener("keydown", function (e) {
    var ta = e.target;
    if (!(ta instanceof HTMLTextAreaElement)) return;
    if (ta.hasAttribute("data-composer") && e.key === "Enter" && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      var form = ta.closest("form");
      if (form && form.getAttribute("aria-busy") !== "true") submit(form);
    }
    if (ta.hasAttribute("data-edit-box")) {
      if (e.key === "Escape") cancelEdit(ta.closest(".msg"));
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        saveEdit(ta.closest(".msg"));
      }
    }
  });
  doc.addEventListener("input", function (e) {
    var ta = e.target;
    if (!(ta instanceof HTMLTextAreaElement) || !ta.hasAttribute("data-composer")) return;
    grow(ta);
    var now = Date.now();
    if (now - state.lastTypingSent > 1500) {
      state.lastTypingSent = now;
      sendFrame({ type: "typing" });
    }
  });

  // ---- attachments: a multipart post to the API
  doc.addEventListener("change", function (e) {
    var input = e.target;
    if (!(input instanceof HTMLInputElement) || !input.hasAttribute("data-attach") || !input.files || !input.files.length) return;
    var data = new FormData();
    Array.prototype.forEach.call(input.files, function (f) {
      data.append("file", f);
    });
    var ta = composer();
    if (ta && ta.value.trim()) data.append("message", ta.value);
    var parent = doc.querySelector("[data-parent-input]");
    if (parent && parent.value) data.append("parent_message_id", parent.value);
    var form = input.closest("form");
    if (form) sending(form, true);
    fetch("/api/v1/chat/conversations/" + encodeURIComponent(state.conv) + "/attachments", { method: "POST", body: data, credentials: "same-origin" })
      .then(function (r) {
        return r.json().then(function (j) {
          if (!r.ok) throw (j && j.error) || { message: "Upload failed" };
          toast("success", input.files.length === 1 ? "File attached" : input.files.length + " files attached");
          if (ta) {
            ta.value = "";
            grow(ta);
          }
        });
      })
      .catch(function (err) {
        toast("error", (err && err.message) || "Upload failed");
      })
      .then(function () {
        if (form) sending(form, false);
        input.value = "";
      });
  });

  // ---- editing one's own message
  function startEdit(msg) {
    if (!msg || msg.querySelector("[data-edit-box]")) return;
    var body = msg.querySelector("[data-message-body]");
    var source = msg.querySelector("template[data-source]");
    var box = doc.createElement("div");
    box.className = "mt-1 flex flex-col gap-1";
    var ta = doc.createElement("textarea");
    ta.className = "field";
    ta.setAttribute("data-edit-box", "");
    ta.setAttribute("aria-label", "Edit the message");
    ta.rows = 3;
    ta.value = source ? source.content.textContent : body.textContent;
    var bar = doc.createElement("div");
    bar.className = "flex gap-2";
    var save = doc.createElement("button");
    save.type = "button";
    save.className = "btn-primary btn-sm";
    save.textContent = "Save";
    save.setAttribute("data-edit-save", "");
    var cancel = doc.createElement("button");
    cancel.type = "button";
    cancel.className = "btn btn-sm";
    cancel.textContent = "Cancel";
    cancel.setAttribute("data-edit-cancel", "");
    bar.append(save, cancel);
    box.append(ta, bar);
    body.hidden = true;
    body.after(box);
    ta.focus();
  }
  function cancelEdit(msg) {
    if (!msg) return;
    var box = msg.querySelector("[data-edit-box]");
    if (box) box.parentNode.remove();
    msg.querySelector("[data-message-body]").hidden = false;
  }
  function saveEdit(msg) {
    var ta = msg && msg.querySelector("[data-edit-box]");
    if (!ta) return;
    var id = msg.getAttribute("data-message-id");
    var text = ta.value;
    if (!text.trim()) {
      toast("info", "A message cannot be empty");
      return;
    }
    var clientId = "e" + ++state.clientSeq;
    var done = function (err) {
      if (err) toast("error", err.message || "Not saved");
      else toast("success", "Message edited");
    };
    state.pending[clientId] = done;
    if (!sendFrame({ type: "edit", message_id: id, message: text, client_id: clientId })) {
      delete state.pending[clientId];
      apiJson("PATCH", "/api/v1/chat/conversations/" + encodeURIComponent(state.conv) + "/messages/" + encodeURIComponent(id), { message: text }).then(
        function (m) {
          done(null);
          var el = doc.getElementById("m-" + id);
          if (el) {
            var body = el.querySelector("[data-message-body]");
            body.textContent = m.message;
            cancelEdit(el);
          }
        },
        done,
      );
    }
  }

  // ---- clicks: reply, answer an option, edit, new-messages pill, context toggle
  doc.addEventListener("click", function (e) {
    var t = e.target instanceof Element ? e.target : null;
    if (!t) return;
    var reply = t.closest("[data-action=reply]");
    if (reply) {
      setReply(reply.getAttribute("data-reply-to"), reply.getAttribute("data-reply-name"), reply.getAttribute("data-reply-excerpt"));
      return;
    }
    var answer = t.closest("[data-action=answer]");
    if (answer) {
      answer.disabled = true;
      post(answer.getAttribute("data-answer"), answer.getAttribute("data-reply-to")).then(
        function () {
          toast("success", "Answered: " + answer.getAttribute("data-answer"));
        },
        function (err) {
          answer.disabled = false;
          toast("error", (err && err.message) || "Not answered");
        },
      );
      return;
    }
    if (t.closest("[data-reply-cancel]")) {
      setReply(null);
      return;
    }
    var edit = t.closest("[data-action=edit]");
    if (edit) {
      startEdit(edit.closest(".msg"));
      return;
    }
    if (t.closest("[data-edit-save]")) {
      saveEdit(t.closest(".msg"));
      return;
    }
    if (t.closest("[data-edit-cancel]")) {
      cancelEdit(t.closest(".msg"));
      return;
    }
    if (t.closest("[data-new-messages]")) {
      scrollToEnd();
      return;
    }
    var toggle = t.closest("[data-context-toggle]");
    if (toggle) {
      var collapsed = !root.hasAttribute("data-context-collapsed");
      setCollapsed(collapsed);
      try {
        localStorage.setItem("agentvine.chat.context", collapsed ? "hidden" : "shown");
      } catch (err) {
        /* private mode */
      }
      return;
    }
    // A thread link: show the thread in the pane (without reloading the page).
    var threadLink = t.closest("a[data-thread-link]");
    if (threadLink && window.htmx && state.conv) {
      e.preventDefault();
      window.htmx.ajax("GET", "/chat/" + encodeURIComponent(state.conv) + "?thread=" + encodeURIComponent(threadLink.getAttribute("data-thread-link")), {
        target: "#chat-pane",
        swap: "outerHTML",
      });
    }
  });
  function setCollapsed(collapsed) {
    if (collapsed) root.setAttribute("data-context-collapsed", "");
    else root.removeAttribute("data-context-collapsed");
    doc.querySelectorAll("[data-context-toggle]").forEach(function (b) {
      b.setAttribute("aria-expanded", collapsed ? "false" : "true");
    });
  }

  // ---- scrolling: the pill hides once the reader is back at the end
  doc.addEventListener(
    "scroll",
    function (e) {
      var el = e.target;
      if (el && el.id === "msg-list" && nearBottom(el)) {
        var pill = doc.querySelector("[data-new-messages]");
        if (pill) pill.hidden = true;
      }
    },
    true,
  );

  // ---- switching conversations (htmx swaps the pane): reconnect, reload the sidebar, mark the list
  /** The open conversation's entry in the list: highlighted, its unread badge gone. */
  function markActive() {
    var p = pane();
    if (!p) return;
    var conv = p.getAttribute("data-conversation-id");
    doc.querySelectorAll("[data-conversation-link]").forEach(function (a) {
      var on = a.getAttribute("data-conversation-link") === conv;
      a.classList.toggle("bg-surface-2", on);
      if (on) {
        a.setAttribute("aria-current", "true");
        var badge = a.querySelector("[data-unread]");
        if (badge) badge.remove();
      } else a.removeAttribute("aria-current");
    });
  }
  /** A conversation was shown (the page loaded, or htmx swapped the pane): to its end, and live. */
  function onPane() {
    markMine(doc);
    scrollToEnd();
    if (!pane()) return;
    markActive();
    connect();
    var ta = composer();
    if (ta) grow(ta);
  }
  doc.addEventListener("htmx:afterSettle", function (e) {
    var target = e.detail && e.detail.target;
    if (target && target.id === "chat-pane") onPane();
    // The list refreshed itself (a message somewhere): only its highlight; the reader's place is kept.
    if (target && target.id === "chat-list") markActive();
  });
  doc.addEventListener("chat:switched", function (e) {
    var href = e.detail && e.detail.context;
    var aside = doc.getElementById("chat-context");
    if (!href || !aside || !window.htmx) return;
    // A fresh loader for the new conversation's sidebar (it reloads itself on the `chat` event too).
    var body = doc.createElement("div");
    body.className = "p-3";
    body.setAttribute("hx-get", href);
    body.setAttribute("hx-trigger", "load, sse:chat throttle:2s");
    body.setAttribute("hx-swap", "innerHTML");
    body.textContent = "Loading the context…";
    aside.replaceChildren(body);
    window.htmx.process(body);
  });
  doc.addEventListener("visibilitychange", function () {
    if (doc.visibilityState === "visible") sendFrame({ type: "read", seq: lastSeq() });
  });

  try {
    var saved = localStorage.getItem("agentvine.chat.context");
    setCollapsed(saved === "hidden" || (saved === null && window.innerWidth < 1024));
  } catch (err) {
    setCollapsed(window.innerWidth < 1024);
  }
  onPane();
})();
