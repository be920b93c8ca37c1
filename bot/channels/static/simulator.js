// The borrower simulator's chat page: send what the borrower types, poll the conversation every 1.5 s.
// Message text is only ever set with textContent: whatever a borrower or a specialist wrote stays text.
"use strict";

(function () {
  const transcript = document.getElementById("transcript");
  const form = document.getElementById("composer");
  if (!transcript || !form) {
    return;
  }
  const input = form.querySelector("input[name=text]");
  const providerId = form.querySelector("input[name=provider_id]");
  const sendError = document.getElementById("send-error");
  const status = document.getElementById("status");
  const pollMs = Number(transcript.dataset.pollMs) || 1500;
  const seen = new Set(Array.from(transcript.querySelectorAll("li[data-id]"), (item) => item.dataset.id));
  let after = transcript.dataset.after || "0";
  let polling = false;
  let sending = false;

  function render(message) {
    const id = String(message.id);
    if (seen.has(id)) {
      return;
    }
    seen.add(id);
    const item = document.createElement("li");
    item.className = "message from-" + (["you", "bot", "servicer"].includes(message.from) ? message.from : "servicer");
    item.dataset.id = id;
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = message.text;
    text.dir = message.dir === "rtl" ? "rtl" : "ltr"; // an Arabic message reads right to left, numbers in order
    item.appendChild(text);
    transcript.appendChild(item);
    transcript.scrollTop = transcript.scrollHeight;
  }

  async function poll() {
    if (polling) {
      return;
    }
    polling = true;
    try {
      const url = transcript.dataset.messagesUrl + "?after=" + encodeURIComponent(after);
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) {
        const data = await response.json();
        data.messages.forEach(render);
        after = String(data.next);
        status.textContent = data.status;
      }
    } catch (error) {
      // the server is restarting or unreachable: the next tick tries again
    } finally {
      polling = false;
    }
  }

  function showError(text) {
    sendError.textContent = text;
    sendError.hidden = !text;
  }

  async function send(event) {
    event.preventDefault();
    if (sending) {
      return;
    }
    const data = new FormData(form);
    const submitter = event.submitter;
    if (submitter && submitter.name === "quick") {
      data.set("quick", submitter.value);
    }
    sending = true;
    form.classList.add("sending");
    const typed = input.value;
    input.value = ""; // what the borrower types while this one is on its way stays in the box
    let sent = false;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: data,
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const answer = await response.json().catch(() => ({}));
      if (response.ok) {
        sent = true;
        providerId.value = answer.next_provider_id;
        showError("");
        await poll();
      } else {
        showError(answer.error || "The message was not sent (" + response.status + "); reload the page.");
      }
    } catch (error) {
      showError("The message was not sent: the server did not answer. Send it again (it will be stored once).");
    } finally {
      if (!sent && !input.value) {
        input.value = typed; // give the text back, with the same message id: a resend is stored once
      }
      sending = false;
      form.classList.remove("sending");
      input.focus();
    }
  }

  form.addEventListener("submit", send);
  document.querySelectorAll("button[data-fill]").forEach((button) => {
    button.addEventListener("click", () => {
      input.value = button.dataset.fill;
      input.focus();
    });
  });
  transcript.scrollTop = transcript.scrollHeight;
  window.setInterval(poll, pollMs);
})();
