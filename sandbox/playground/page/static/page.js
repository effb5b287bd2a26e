// The playground's page: everything shown comes from the server's event stream (server-sent events); the visitor's
// actions are plain POSTs. No build step, no framework.
"use strict";

const phones = new Map(); // phone key -> its <article>

function post(path, body) {
  return fetch(path, {method: "POST", body: body || new FormData(), headers: {"X-Playground": "1"}})
    .then(async (answer) => {
      if (!answer.ok) throw new Error(await answer.text());
      return answer;
    });
}

function form(fields) {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.append(name, value);
  return data;
}

function fragment(html) {
  const holder = document.createElement("template");
  holder.innerHTML = html.trim();
  return holder.content.firstElementChild;
}

function toast(article, text) {
  const box = article.querySelector(".toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(box.timer);
  box.timer = setTimeout(() => { box.hidden = true; }, 4000);
}

function addPhone(event) {
  if (phones.has(event.phone)) return;
  const article = document.getElementById("phone-template").content.firstElementChild.cloneNode(true);
  article.dataset.phone = event.phone;
  article.classList.add(event.role);
  article.setAttribute("aria-label", event.title);
  article.querySelector(".phone-title").textContent = event.title;
  article.querySelector("input[name=text]").setAttribute("aria-label", "Message from " + event.title);
  const compose = article.querySelector(".compose");
  compose.addEventListener("submit", (submitted) => {
    submitted.preventDefault();
    const input = compose.elements.text;
    const text = input.value.trim();
    if (!text) return;
    post(`phones/${event.phone}/send`, form({text})).then(() => { input.value = ""; })
      .catch((error) => toast(article, error.message));
  });
  const file = compose.elements.file;
  file.addEventListener("change", () => {
    if (!file.files.length) return;
    const data = form({caption: compose.elements.text.value.trim()});
    data.append("file", file.files[0]);
    post(`phones/${event.phone}/upload`, data).then(() => { compose.elements.text.value = ""; file.value = ""; })
      .catch((error) => toast(article, error.message));
  });
  article.querySelector(".chat").addEventListener("click", (clicked) => {
    const button = clicked.target.closest("button[data-button]");
    if (button) {
      post(`phones/${event.phone}/press`, form({message: button.dataset.message, button: button.dataset.button}))
        .catch((error) => toast(article, error.message));
    }
    const link = clicked.target.closest("a[data-checkout]");
    if (link) openCheckout(link.href);
  });
  phones.set(event.phone, article);
  document.getElementById("phones").append(article);
}

function showMessage(event) {
  const article = phones.get(event.phone);
  if (!article) return;
  const chat = article.querySelector(".chat");
  const bubble = fragment(event.html);
  const old = chat.querySelector(`[data-id="${event.id}"]`);
  if (old) {
    old.replaceWith(bubble);
  } else {
    const after = [...chat.children].find((other) => Number(other.dataset.id) > event.id);
    chat.insertBefore(bubble, after || null);
    chat.scrollTop = chat.scrollHeight;
  }
  for (const image of bubble.querySelectorAll("img")) {
    image.addEventListener("load", () => { chat.scrollTop = chat.scrollHeight; });
  }
}

function showPrompt(event) {
  const article = phones.get(event.phone);
  if (!article) return;
  const prompt = fragment(event.html);
  article.querySelector(".prompt-slot").replaceChildren(prompt);
  const seconds = prompt.querySelector(".stk-seconds");
  let left = Number(seconds.textContent);
  prompt.countdown = setInterval(() => { seconds.textContent = String(Math.max(0, --left)); }, 1000);
  const answer = (action) => {
    const fields = {action, pin: prompt.elements.pin.value};
    post(`prompts/${prompt.dataset.checkout}`, form(fields)).catch((error) => toast(article, error.message));
  };
  prompt.addEventListener("submit", (submitted) => { submitted.preventDefault(); answer("pin"); });
  prompt.querySelector("button[value=cancel]").addEventListener("click", () => answer("cancel"));
  prompt.elements.pin.focus();
}

function closePrompt(event) {
  const prompt = document.querySelector(`form.stk[data-checkout="${event.checkout}"]`);
  if (prompt) {
    clearInterval(prompt.countdown);
    prompt.remove();
  }
}

function openCheckout(url) {
  const panel = document.getElementById("checkout");
  panel.hidden = false;
  document.getElementById("checkout-tab").href = url;
  document.getElementById("checkout-frame").focus();
}

function logEntry(event) {
  const item = document.createElement("li");
  item.className = `entry ${event.source}`;
  const details = document.createElement("details");
  const summary = document.createElement("summary");
  summary.textContent = event.title;
  details.append(summary);
  if (event.body) {
    const body = document.createElement("pre");
    body.textContent = event.body;
    details.append(body);
  }
  item.append(details);
  const log = document.getElementById("log");
  log.append(item);
  if (document.getElementById("follow").checked) log.scrollTop = log.scrollHeight;
}

function showMode(event) {
  const mode = document.getElementById("mode");
  mode.textContent = event.test_mode ? "TEST MODE" : "LIVE";
  mode.classList.toggle("test", event.test_mode);
  document.getElementById("test-mode").setAttribute("aria-pressed", String(event.test_mode));
}

const HANDLERS = {
  phone: addPhone,
  message: showMessage,
  remove: (event) => phones.get(event.phone)?.querySelector(`[data-id="${event.id}"]`)?.remove(),
  toast: (event) => phones.has(event.phone) && toast(phones.get(event.phone), event.text),
  prompt: showPrompt,
  prompt_closed: closePrompt,
  log: logEntry,
  mode: showMode,
  clock: (event) => { document.getElementById("clock").textContent = `shop time +${event.minutes} min`; },
};

function listen() {
  const stream = new EventSource("events");
  stream.onmessage = (message) => {
    const event = JSON.parse(message.data);
    HANDLERS[event.type]?.(event);
    document.body.dataset.events = message.lastEventId; // for the browser tests: how far the page has got
  };
  stream.addEventListener("reset", () => { stream.close(); location.reload(); });
}

function controls() {
  const modeButton = document.getElementById("test-mode");
  modeButton.addEventListener("click", () => {
    const on = modeButton.getAttribute("aria-pressed") !== "true";
    post("test-mode", form({on: on ? "1" : "0"}));
  });
  document.getElementById("skip").addEventListener("click", () => post("clock"));
  document.getElementById("add-phone").addEventListener("click", () => post("phones"));
  document.getElementById("reset").addEventListener("click", () => {
    if (confirm("Start the shop again from scratch? Orders and chats are forgotten.")) post("reset");
  });
  document.getElementById("checkout-close").addEventListener("click", () => {
    document.getElementById("checkout").hidden = true;
    document.getElementById("checkout-frame").src = "about:blank";
  });
}

controls();
listen();
