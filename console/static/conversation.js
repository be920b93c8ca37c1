// The conversation page: new messages appear without a reload, canned responses fill the reply box, and
// Alt+digit applies the macro with that shortcut (the same as clicking its button: the form works without script).
// Everything a borrower wrote is put on the page with textContent, never parsed as HTML.
(function () {
  "use strict";
  var POLL_MS = 4000;

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function authorClass(author) {
    if (author === "borrower") { return "author-borrower"; }
    if (author === "bot" || author === "servicer") { return "author-bot"; }
    return "author-person";
  }

  function messageItem(message, attachmentLabel) {
    var item = element("li", "message " + (message.internal ? "note" : message.direction) + " " + authorClass(message.author));
    item.dataset.id = String(message.id);
    var meta = element("div", "meta");
    meta.appendChild(element("span", "author", message.author));
    meta.appendChild(document.createTextNode(" · "));
    meta.appendChild(element("time", null, message.at));
    if (message.direction === "out") {
      meta.appendChild(document.createTextNode(" · "));
      var status = message.status_label + (message.error_code ? " (" + message.error_code + ")" : "");
      meta.appendChild(element("span", "status status-" + message.status.replace(/[^a-z_]/g, ""), status));
    }
    item.appendChild(meta);
    var body = element("p", "body", message.body);
    body.dir = message.dir === "rtl" ? "rtl" : "ltr"; // an Arabic message reads right to left, numbers in order
    item.appendChild(body);
    (message.attachments || []).forEach(function (attachment, index) {
      var line = element("p", "attachment");
      var link = element("a", null, attachmentLabel + " " + (index + 1));
      link.href = attachment.url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      line.appendChild(link);
      line.appendChild(document.createTextNode(" "));
      line.appendChild(element("span", "content-type", attachment.content_type));
      item.appendChild(line);
    });
    return item;
  }

  function startPolling(transcript) {
    var url = transcript.dataset.messagesUrl;
    if (!url) { return; }
    var lastId = parseInt(transcript.dataset.lastId || "0", 10);
    function poll() {
      fetch(url + "?after=" + lastId, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          var empty = transcript.querySelector("li.empty");
          if (empty && data.messages.length) { empty.remove(); }
          data.messages.forEach(function (message) {
            if (message.id > lastId) {
              transcript.appendChild(messageItem(message, transcript.dataset.attachmentLabel || "Attachment"));
              lastId = message.id;
            }
          });
          if (data.messages.length) { transcript.scrollTop = transcript.scrollHeight; }
        })
        .catch(function () { /* the next poll tries again */ })
        .then(function () { window.setTimeout(poll, POLL_MS); });
    }
    window.setTimeout(poll, POLL_MS);
  }

  function wireCanned() {
    var select = document.getElementById("canned-select");
    var body = document.getElementById("reply-body");
    var key = document.getElementById("canned-key");
    if (!select || !body || !key) { return; }
    select.addEventListener("change", function () {
      var option = select.options[select.selectedIndex];
      body.value = option.dataset.text || "";
      key.value = option.value;
    });
    body.addEventListener("input", function () {
      var option = select.options[select.selectedIndex];
      if (!option || body.value !== (option.dataset.text || "")) { key.value = ""; select.value = ""; }
    });
  }

  function wireMacroShortcuts() {
    var form = document.getElementById("macros");
    if (!form) { return; }
    document.addEventListener("keydown", function (event) {
      if (!event.altKey || event.ctrlKey || event.metaKey || event.repeat) { return; }
      var digit = /^Digit([1-9])$/.exec(event.code || "");
      if (!digit) { return; }
      var button = form.querySelector('button[data-shortcut="' + digit[1] + '"]');
      if (!button || button.disabled) { return; }
      event.preventDefault();
      button.disabled = true;  // one press, one macro: a held key does not apply it twice
      var chosen = document.createElement("input");
      chosen.type = "hidden";
      chosen.name = button.name;
      chosen.value = button.value;
      form.appendChild(chosen);
      form.submit();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var transcript = document.getElementById("transcript");
    if (transcript) {
      transcript.scrollTop = transcript.scrollHeight;
      startPolling(transcript);
    }
    wireCanned();
    wireMacroShortcuts();
  });
})();
