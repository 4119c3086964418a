// The searchable picker: a combobox (WAI-ARIA pattern: text box, list box, arrow keys, Enter, Escape)
// whose list is the listing endpoint's answer for what is typed, page after page ("More results").

import { choiceText } from "./catalog.js";

const PAGE = 20;
const TYPING_MS = 200;

export class Picker {
  /** `search(q, cursor)` resolves to { items: [{id, name, detail}], next }; `onPick(id)` opens one. */
  constructor(input, list, status, search, onPick) {
    Object.assign(this, { input, list, status, search, onPick });
    this.items = [];
    this.next = null;
    this.active = -1;
    this.asked = 0;
    this.shownText = "";
    this.timer = null;
    input.addEventListener("input", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.ask(this.input.value.trim()), TYPING_MS);
    });
    input.addEventListener("focus", () => this.input.select());
    input.addEventListener("click", () => {
      if (this.list.hidden) this.ask(this.input.value === this.shownText ? "" : this.input.value.trim());
    });
    input.addEventListener("keydown", (event) => this.key(event));
    input.addEventListener("blur", () => setTimeout(() => this.close(true), 150));
    list.addEventListener("mousedown", (event) => event.preventDefault()); // keep focus in the box
    list.addEventListener("click", (event) => {
      const option = event.target.closest("[role=option]");
      if (option) this.choose(Number(option.dataset.index));
    });
  }

  /** The text of what is on screen (kept when the list closes without a choice). */
  show(text) {
    this.shownText = text;
    if (document.activeElement !== this.input) this.input.value = text;
  }

  async ask(q, more = false) {
    const ticket = ++this.asked;
    this.status.textContent = "Searching…";
    try {
      const page = await this.search(q, more ? this.next : null, PAGE);
      if (ticket !== this.asked) return;
      this.items = more ? [...this.items, ...page.items] : page.items;
      this.next = page.next;
      this.q = q;
      this.render(more ? page.items.length : 0);
    } catch (problem) {
      if (ticket !== this.asked) return;
      this.status.textContent = problem.message ?? "The list could not be loaded.";
    }
  }

  render(added) {
    this.list.replaceChildren();
    this.items.forEach((item, index) => this.list.append(this.option(choiceText(item), index)));
    if (this.next) this.list.append(this.option("More results…", this.items.length, "more"));
    const count = this.items.length;
    const what = this.q ? ` for “${this.q}”` : "";
    this.status.textContent =
      count === 0
        ? `No match${what}.`
        : `${count} ${count === 1 ? "match" : "matches"}${what}${this.next ? ", more available" : ""}.`;
    this.open();
    this.move(added ? this.items.length - added : this.active < this.options().length ? this.active : -1);
  }

  option(text, index, extra) {
    const option = document.createElement("li");
    option.id = `${this.list.id}-${index}`;
    option.setAttribute("role", "option");
    option.setAttribute("aria-selected", "false");
    option.dataset.index = String(index);
    if (extra) option.className = extra;
    option.textContent = text;
    return option;
  }

  options() {
    return [...this.list.querySelectorAll("[role=option]")];
  }

  open() {
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
  }

  close(restore) {
    this.list.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
    this.active = -1;
    if (restore && document.activeElement !== this.input) this.input.value = this.shownText;
  }

  move(index) {
    const options = this.options();
    this.active = index;
    options.forEach((o, i) => o.setAttribute("aria-selected", String(i === index)));
    if (index < 0 || index >= options.length) {
      this.input.removeAttribute("aria-activedescendant");
      return;
    }
    this.input.setAttribute("aria-activedescendant", options[index].id);
    options[index].scrollIntoView({ block: "nearest" });
  }

  key(event) {
    const count = this.options().length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (this.list.hidden) {
        if (this.items.length === 0) this.ask(this.input.value.trim());
        else this.open();
        return;
      }
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.move(count === 0 ? -1 : (this.active + step + count) % count);
    } else if (event.key === "Enter") {
      if (!this.list.hidden && this.active >= 0) {
        event.preventDefault();
        this.choose(this.active);
      }
    } else if (event.key === "Escape") {
      this.close(false);
      this.input.value = this.shownText;
    }
  }

  choose(index) {
    if (index === this.items.length && this.next) {
      this.ask(this.q ?? "", true);
      return;
    }
    const item = this.items[index];
    if (!item) return;
    this.close(false);
    this.input.value = choiceText(item);
    this.shownText = this.input.value;
    this.onPick(item.id);
  }

  /** Another kind: what was listed no longer applies. */
  reset() {
    clearTimeout(this.timer);
    this.asked++;
    this.items = [];
    this.next = null;
    this.list.replaceChildren();
    this.status.textContent = "";
    this.close(false);
  }
}
