// The bundled web client. It speaks Evennia's webclient format (v1.evennia.com): every frame is
// a JSON array [cmdname, args, kwargs]; the portal renders game text to HTML before sending it.
//
// - Output: `text` frames go to the scrolling log (capped), `prompt` to the prompt line.
// - Input: Enter sends ["text", [line], {}]; Up/Down walk the history (kept for this tab).
// - Passwords: before the `logged_in` OOB, the login screen asks for `connect <name> <password>`
//   or `create <name> <password>` on one line. Once such a command and a name are typed, the
//   rest of the line is read in a password field (shown as dots), never echoed to the log and
//   never kept in the history.
// - Reconnects with growing delays (1 s doubling to 30 s) after a dropped connection or a
//   server going away; a deliberate close by the server (quit, kick) is shown and not retried
//   until the player presses Enter.
"use strict";

(function () {
  const MAX_LINES = 5000;
  const MAX_HISTORY = 200;
  const BACKOFF_FIRST_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  // Evennia's unlogged-in login commands and their aliases, then the account name (quoted or not).
  const LOGIN_LINE = /^(\s*(?:connect|conn|con|co|create|cre|cr)\s+(?:"[^"]*"|[^\s"]+)\s)([\s\S]*)$/i;

  const output = document.getElementById("output");
  const promptLine = document.getElementById("prompt");
  const form = document.getElementById("inputform");
  const input = document.getElementById("input");
  const pwPrefix = document.getElementById("pwprefix");
  const connection = document.getElementById("connection");

  let ws = null;
  let loggedIn = false;
  let backoff = BACKOFF_FIRST_MS;
  let retryTimer = null;
  let retryAt = 0;
  let countdown = null;
  let stopped = false; // the server closed us on purpose: wait for the player
  const history = [];
  let historyPos = 0; // == history.length: the line being typed
  let draft = "";

  function setState(state, label) {
    connection.dataset.state = state;
    connection.textContent = label;
  }

  function scrolledToBottom() {
    return output.scrollHeight - output.scrollTop - output.clientHeight < 40;
  }

  function append(node) {
    const stick = scrolledToBottom();
    output.appendChild(node);
    while (output.childElementCount > MAX_LINES) {
      output.removeChild(output.firstElementChild);
    }
    if (stick) {
      output.scrollTop = output.scrollHeight;
    }
  }

  // MXP links carry an inline onclick (Evennia.msg("text",["cmd"],{})); inline script is not
  // allowed on this page, so the command is lifted into data-cmd and sent by our click handler.
  const MXP_ONCLICK = /^Evennia\.msg\("text",\[("(?:[^"\\]|\\.)*")\],\{\}\);return false;$/;
  function adoptLinks(root) {
    for (const a of root.querySelectorAll("a[onclick]")) {
      const m = MXP_ONCLICK.exec(a.getAttribute("onclick"));
      a.removeAttribute("onclick");
      if (m) {
        try {
          a.dataset.cmd = JSON.parse(m[1]);
        } catch (e) {
          /* not a command we understand: the link stays inert */
        }
      }
    }
    for (const a of root.querySelectorAll("a[target=_blank]")) {
      a.rel = "noopener noreferrer";
    }
  }

  function showHtml(html, cls) {
    const div = document.createElement("div");
    div.className = "msg" + (cls ? " " + cls : "");
    // The portal escapes game text and emits only spans, <br> and links.
    div.innerHTML = html;
    adoptLinks(div);
    append(div);
  }

  function showNotice(text) {
    const div = document.createElement("div");
    div.className = "msg notice";
    div.textContent = text;
    append(div);
  }

  function showEcho(text) {
    const div = document.createElement("div");
    div.className = "msg echo";
    div.textContent = "> " + text;
    append(div);
  }

  function send(cmd, args, kwargs) {
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify([cmd, args || [], kwargs || {}]));
      return true;
    }
    return false;
  }

  function handle(frame) {
    if (!Array.isArray(frame) || typeof frame[0] !== "string") {
      return;
    }
    const [cmd, args, kwargs] = frame;
    switch (cmd) {
      case "text":
        showHtml(String((args && args[0]) || ""), kwargs && kwargs.type ? "type-" + kwargs.type : "");
        break;
      case "prompt":
        promptLine.innerHTML = String((args && args[0]) || "");
        adoptLinks(promptLine);
        break;
      case "logged_in":
        loggedIn = true;
        leavePasswordMode(false);
        setState("connected", "connected · logged in");
        break;
      default:
        // Other out-of-band commands are for richer clients; this one has no use for them.
        break;
    }
  }

  function connect() {
    clearTimeout(retryTimer);
    clearInterval(countdown);
    retryTimer = null;
    stopped = false;
    setState("connecting", "connecting…");
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    let socket;
    try {
      socket = new WebSocket(scheme + location.host + "/", "v1.evennia.com");
    } catch (e) {
      scheduleReconnect();
      return;
    }
    ws = socket;
    socket.onopen = function () {
      backoff = BACKOFF_FIRST_MS;
      loggedIn = false;
      setState("connected", "connected");
    };
    socket.onmessage = function (ev) {
      if (typeof ev.data !== "string") {
        return;
      }
      try {
        handle(JSON.parse(ev.data));
      } catch (e) {
        /* a frame we cannot read is skipped */
      }
    };
    socket.onclose = function (ev) {
      if (ws !== socket) {
        return;
      }
      ws = null;
      loggedIn = false;
      leavePasswordMode(true);
      promptLine.textContent = "";
      // 1000 with a reason: the server closed this session on purpose (quit, kicked, idle).
      if (ev.code === 1000 && ev.reason) {
        stopped = true;
        showNotice(ev.reason);
        showNotice("Disconnected. Press Enter to connect again.");
        setState("closed", "disconnected");
        return;
      }
      showNotice("The connection was closed or lost." + (ev.reason ? " (" + ev.reason + ")" : ""));
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    // A little jitter keeps a crowd of tabs from returning in the same millisecond.
    const delay = Math.round(backoff * (0.8 + Math.random() * 0.4));
    backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    retryAt = Date.now() + delay;
    const tick = function () {
      const s = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
      setState("reconnecting", "reconnecting in " + s + " s…");
    };
    tick();
    clearInterval(countdown);
    countdown = setInterval(tick, 1000);
    retryTimer = setTimeout(connect, delay);
  }

  // --- password mode ------------------------------------------------------------------------

  function inPasswordMode() {
    return !pwPrefix.hidden;
  }

  function enterPasswordMode(prefix, rest) {
    pwPrefix.textContent = prefix;
    pwPrefix.hidden = false;
    input.type = "password";
    input.setAttribute("aria-label", "Password");
    input.value = rest;
  }

  // Back to a plain line; `keepPrefix` puts the visible part back into the input.
  function leavePasswordMode(keepPrefix) {
    if (!inPasswordMode()) {
      return;
    }
    const prefix = pwPrefix.textContent;
    pwPrefix.textContent = "";
    pwPrefix.hidden = true;
    input.type = "text";
    input.setAttribute("aria-label", "Command");
    input.value = keepPrefix ? prefix : "";
  }

  function checkPasswordMode() {
    if (loggedIn || inPasswordMode()) {
      return;
    }
    const m = LOGIN_LINE.exec(input.value);
    if (m) {
      enterPasswordMode(m[1], m[2]);
    }
  }

  // --- input --------------------------------------------------------------------------------

  function submit() {
    if (!ws) {
      if (stopped || !retryTimer) {
        connect();
      } else {
        // Waiting out a backoff: the player asked, so try now.
        backoff = BACKOFF_FIRST_MS;
        connect();
      }
      return;
    }
    let line;
    let shown;
    let remembered;
    if (inPasswordMode()) {
      const prefix = pwPrefix.textContent;
      line = prefix + input.value;
      shown = prefix + "*".repeat(Math.min(input.value.length, 8));
      remembered = prefix.trimEnd();
      leavePasswordMode(false);
    } else {
      line = input.value;
      shown = line;
      remembered = line;
    }
    if (!send("text", [line], {})) {
      return;
    }
    if (line.trim()) {
      showEcho(shown);
    }
    if (remembered.trim() && history[history.length - 1] !== remembered) {
      history.push(remembered);
      if (history.length > MAX_HISTORY) {
        history.shift();
      }
    }
    historyPos = history.length;
    draft = "";
    input.value = "";
    output.scrollTop = output.scrollHeight;
  }

  function recall(step) {
    if (inPasswordMode()) {
      leavePasswordMode(false);
    }
    const pos = historyPos + step;
    if (pos < 0 || pos > history.length) {
      return;
    }
    if (historyPos === history.length) {
      draft = input.value;
    }
    historyPos = pos;
    input.value = pos === history.length ? draft : history[pos];
    // The caret goes to the end, after the browser's own handling of the arrow key.
    setTimeout(function () {
      input.setSelectionRange(input.value.length, input.value.length);
    }, 0);
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    submit();
    input.focus();
  });

  input.addEventListener("input", checkPasswordMode);

  input.addEventListener("keydown", function (ev) {
    if (ev.key === "ArrowUp") {
      ev.preventDefault();
      recall(-1);
    } else if (ev.key === "ArrowDown") {
      ev.preventDefault();
      recall(1);
    } else if (ev.key === "Backspace" && inPasswordMode() && input.value === "") {
      // Deleting past the password edits the name again.
      ev.preventDefault();
      const prefix = pwPrefix.textContent;
      leavePasswordMode(false);
      input.value = prefix.slice(0, -1);
    } else if (ev.key === "Escape") {
      leavePasswordMode(false);
      input.value = "";
      historyPos = history.length;
    }
  });

  output.addEventListener("click", function (ev) {
    const a = ev.target.closest("a[data-cmd]");
    if (a) {
      ev.preventDefault();
      send("text", [a.dataset.cmd], {});
      input.focus();
    }
  });

  // Keep the keyboard on the input line: after a click that selected no text, and when a key
  // is typed anywhere else on the page.
  document.addEventListener("mouseup", function () {
    const sel = window.getSelection();
    if (!sel || sel.isCollapsed) {
      input.focus();
    }
  });
  document.addEventListener("keydown", function (ev) {
    if (document.activeElement !== input && !ev.ctrlKey && !ev.metaKey && !ev.altKey && ev.key.length === 1) {
      input.focus();
    }
  });

  // A resize (a phone's keyboard opening, rotation) keeps the newest output in view if it was.
  let stuck = true;
  output.addEventListener("scroll", function () {
    stuck = scrolledToBottom();
  });
  window.addEventListener("resize", function () {
    if (stuck) {
      output.scrollTop = output.scrollHeight;
    }
  });

  input.focus();
  connect();
})();
