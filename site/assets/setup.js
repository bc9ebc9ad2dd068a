// The setup wizard's form: post the manifest to the personal or the organization's
// "new App" page on GitHub, whichever the person chose.
"use strict";

(() => {
  const form = document.getElementById("manifest-form");
  if (!form) return;
  const personal = document.getElementById("owner-personal");
  const org = document.getElementById("owner-org");
  const orgName = document.getElementById("org-name");
  const field = document.getElementById("org-field");
  const base = form.dataset.githubUrl;
  const state = form.dataset.state;

  function target() {
    const query = state ? `?state=${encodeURIComponent(state)}` : "";
    if (org.checked) {
      return `${base}/organizations/${encodeURIComponent(orgName.value.trim())}/settings/apps/new${query}`;
    }
    return `${base}/settings/apps/new${query}`;
  }

  function update() {
    orgName.required = org.checked;
    orgName.disabled = !org.checked;
    field.hidden = !org.checked;
    form.action = target();
  }

  personal.addEventListener("change", update);
  org.addEventListener("change", update);
  orgName.addEventListener("input", update);
  form.addEventListener("submit", (event) => {
    update();
    if (!form.checkValidity()) {
      event.preventDefault();
      form.reportValidity();
    }
  });
  update();
})();
