// The library's policy editor for one asset: reads GET /v1/assets/{id}/policy, and saves with
// PATCH (which merges: the fields sent change, the rest keep their stored values, the password
// included unless one is typed or its removal ticked). Every saved change ends the asset's
// open playback sessions; new ones follow the new policy.
import { api, readable } from "/api.js";

let serial = 0;

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/** Allowed domains as typed: one per line or comma-separated, blanks dropped. */
const domains = (text) => text.split(/[\s,]+/).map((d) => d.trim()).filter(Boolean);

/** The editor's <form> for `assetId`; it loads the policy the first time `open()` is called. */
export function policyEditor(assetId, apiKey) {
  const id = `policy-${++serial}`;
  const visibility = el("select", { name: "visibility", id: `${id}-visibility` },
    new Option("private: plays with a viewer token", "private"),
    new Option("unlisted: anyone with the asset id", "unlisted"),
    new Option("public: anyone", "public"));
  const origins = el("textarea", { name: "allowed_origins", id: `${id}-origins`, rows: 2, placeholder: "any site (one per line: example.com, *.example.com)", spellcheck: false });
  const download = el("input", { type: "checkbox", name: "download_allowed" });
  const password = el("input", { type: "password", name: "password", autocomplete: "new-password", placeholder: "unchanged" });
  const clear = el("input", { type: "checkbox", name: "clear_password" });
  const passwordState = el("span", { className: "note" });
  const save = el("button", { type: "submit", className: "save-policy", textContent: "Save policy" });
  const status = el("p", { className: "policy-status", role: "status" });
  const form = el("form", { className: "policy", hidden: true },
    el("label", { htmlFor: visibility.id }, "Visibility", visibility),
    el("label", { htmlFor: origins.id }, "Allowed domains", origins),
    el("label", { className: "inline" }, download, " downloads allowed"),
    el("fieldset", {}, el("legend", {}, "Password ", passwordState), password,
      el("label", { className: "inline" }, clear, " remove the password")),
    save, status);

  const fill = (p) => {
    visibility.value = p.visibility;
    origins.value = (p.allowed_origins ?? []).join("\n");
    download.checked = Boolean(p.download_allowed);
    password.value = "";
    clear.checked = false;
    clear.parentElement.hidden = !p.password_set;
    passwordState.textContent = p.password_set ? "(one is set)" : "(none)";
  };
  const fail = (what, e) => {
    status.textContent = `${what}: ${readable(e)}`;
    status.className = "policy-status bad";
  };

  let loaded = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const change = { visibility: visibility.value, allowed_origins: domains(origins.value), download_allowed: download.checked };
    if (password.value) change.password = password.value;
    else if (clear.checked) change.password = null;
    save.disabled = true;
    status.className = "policy-status";
    status.textContent = "Saving…";
    try {
      fill(await api(apiKey(), "PATCH", `/v1/assets/${encodeURIComponent(assetId)}/policy`, change));
      status.textContent = "Saved. Open playback sessions of this asset end; new ones follow this policy.";
    } catch (e) {
      fail("Not saved", e);
    } finally {
      save.disabled = false;
    }
  });

  return {
    form,
    /** Shows the editor, reading the stored policy the first time. */
    async open() {
      form.hidden = false;
      if (loaded) return;
      save.disabled = true;
      status.className = "policy-status";
      status.textContent = "Reading the policy…";
      try {
        fill(await api(apiKey(), "GET", `/v1/assets/${encodeURIComponent(assetId)}/policy`));
        loaded = true;
        status.textContent = "";
        save.disabled = false;
      } catch (e) {
        fail("Cannot read the policy", e);
      }
    },
    close() { form.hidden = true; },
  };
}
