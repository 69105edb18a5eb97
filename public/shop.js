import * as api from "/api.js";

/** The page shows and sells in one currency; prices come from the service's catalog (GET /products). */
const currency = "EUR";

const $ = (selector) => document.querySelector(selector);
const money = (cents, currency = "EUR") =>
  new Intl.NumberFormat("en", { style: "currency", currency }).format(cents / 100);

let basketId = localStorage.getItem("basketId");
let shown = { revision: -1 };
let stopFollowing = () => {};

/** Shows a basket unless what is on screen is newer (an answer and a live event may cross). */
function show(basket) {
  if (basket.id !== basketId || basket.revision <= shown.revision) return;
  shown = basket;
  $("#basket").dataset.revision = String(basket.revision);
  $("#basket-id").textContent = basket.id;
  $("#basket-revision").textContent = String(basket.revision);
  $("#basket-count").textContent = String(basket.itemCount);
  $("#basket-total").textContent = money(basket.total, basket.currency);
  $("#basket-empty").hidden = basket.lines.length > 0;
  const open = basket.status === "open";
  $("#basket-status").textContent = open ? "" : "Checked out — thank you!";
  for (const button of document.querySelectorAll("#products button, #clear, #checkout"))
    button.disabled = !open || (button.id === "checkout" && basket.lines.length === 0);
  $("#basket-lines").replaceChildren(
    ...basket.lines.map((line) => {
      const item = document.createElement("li");
      item.dataset.sku = line.sku;
      item.innerHTML = `
        <span class="name"></span>
        <button type="button" class="quiet" data-change="-1" aria-label="one less">−</button>
        <span class="quantity"></span>
        <button type="button" class="quiet" data-change="1" aria-label="one more">+</button>
        <span class="line-total"></span>
        <button type="button" class="quiet" data-remove aria-label="remove">✕</button>`;
      item.querySelector(".name").textContent = line.name;
      item.querySelector(".quantity").textContent = String(line.quantity);
      item.querySelector(".line-total").textContent = money(line.lineTotal, basket.currency);
      for (const button of item.querySelectorAll("button")) button.disabled = !open;
      return item;
    }),
  );
}

/** Runs a change through the API; its answer is the basket after it. */
async function change(work) {
  $("#message").textContent = "";
  try {
    show(await work());
  } catch (error) {
    // The basket is no longer ours to change (the service forgot it, or its cookie expired).
    if (error.status === 401 || error.status === 404) return startBasket();
    // The catalog changed since the lines were added: the basket now has the new prices.
    if (error.problem?.code === "prices_changed" && error.problem.basket) show(error.problem.basket);
    $("#message").textContent = error.message;
  }
}

async function startBasket() {
  stopFollowing();
  const basket = await api.createBasket();
  basketId = basket.id;
  localStorage.setItem("basketId", basketId);
  shown = { revision: -1 };
  show(basket);
  follow();
}

function follow() {
  stopFollowing = api.followBasket(basketId, show, (status) => {
    const labels = { live: "live", reconnecting: "reconnecting…", gone: "basket gone" };
    $("#live-status").dataset.state = status;
    $("#live-status").textContent = labels[status];
    // The service no longer knows this basket (its data was reset): start a new one.
    if (status === "gone") startBasket().catch((error) => ($("#message").textContent = error.message));
  });
}

async function renderProducts() {
  const products = await api.listProducts(currency);
  $("#products").replaceChildren(
    ...products.map((product) => {
      const item = document.createElement("li");
      item.dataset.sku = product.sku;
      item.innerHTML = `<span class="name"></span><span class="price"></span><button type="button">Add</button>`;
      item.querySelector(".name").textContent = product.name;
      item.querySelector(".price").textContent = money(product.unitPrice, currency);
      const button = item.querySelector("button");
      button.dataset.add = product.sku;
      button.disabled = shown.status !== undefined && shown.status !== "open";
      button.addEventListener("click", () => change(() => api.addItem(basketId, product.sku, 1)));
      return item;
    }),
  );
}

$("#basket-lines").addEventListener("click", (event) => {
  const button = event.target.closest("button");
  const sku = button?.closest("li")?.dataset.sku;
  if (!sku) return;
  if (button.dataset.remove !== undefined) return change(() => api.removeItem(basketId, sku));
  const line = shown.lines.find((candidate) => candidate.sku === sku);
  const quantity = line.quantity + Number(button.dataset.change);
  return change(() => api.changeQuantity(basketId, sku, quantity));
});
$("#clear").addEventListener("click", () => change(() => api.clearBasket(basketId)));
$("#checkout").addEventListener("click", () => change(() => api.checkOut(basketId)));
$("#new-basket").addEventListener("click", () => startBasket());

renderProducts().catch((error) => ($("#message").textContent = error.message));
if (basketId) follow();
else startBasket().catch((error) => ($("#message").textContent = error.message));
