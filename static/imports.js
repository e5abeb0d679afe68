// The import page's progress bar: ask the server how far the import is, until it is finished.
(() => {
  const box = document.querySelector("[data-progress-url]");
  if (!box || box.dataset.finished === "true") return;
  const bar = box.querySelector("progress");
  const show = (name, value) => {
    const element = box.querySelector(`[data-field="${name}"]`);
    if (element && value !== null && value !== undefined) element.textContent = value;
  };
  const statusLabels = JSON.parse(box.querySelector("[data-field='status']").dataset.labels || "{}");
  let delay = 500;
  const poll = async () => {
    try {
      const response = await fetch(box.dataset.progressUrl, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (!response.ok) throw new Error(String(response.status));
      const state = await response.json();
      if (state.percent !== null) {
        bar.value = state.percent;
        bar.textContent = `${state.percent}%`;
        show("percent", `${state.percent}%`);
      }
      show("status", statusLabels[state.status] || state.status);
      for (const name of ["processed", "imported", "skipped", "rejected", "unmatched"]) show(name, state[name]);
      if (state.finished) {
        // The rejected rows and links are drawn by the server: show the finished page.
        window.location.reload();
        return;
      }
    } catch (error) {
      delay = Math.min(delay * 2, 10000);
    }
    setTimeout(poll, delay);
    delay = Math.min(delay + 500, 3000);
  };
  setTimeout(poll, delay);
})();
