// The reports page: while a report is queued or building, ask the server how far it is; reload when done.
(() => {
  const table = document.querySelector("table.reports[data-progress-url]");
  if (!table || table.dataset.busy !== "true") return;
  let delay = 1000;
  const poll = async () => {
    try {
      const response = await fetch(table.dataset.progressUrl, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (!response.ok) throw new Error(String(response.status));
      const state = await response.json();
      let changed = false;
      for (const report of state.reports) {
        const row = table.querySelector(`tr[data-report="${report.id}"]`);
        if (!row || row.dataset.status !== report.status) { changed = true; continue; }
        const bar = row.querySelector("progress");
        if (bar && report.percent !== null) {
          bar.value = report.percent;
          const percent = row.querySelector('[data-field="percent"]');
          if (percent) percent.textContent = `${report.percent}%`;
        }
      }
      // A status the server draws differently (ready, failed, building): show the new page.
      if (changed || !state.busy) { window.location.reload(); return; }
    } catch (error) {
      delay = Math.min(delay * 2, 10000);
    }
    setTimeout(poll, delay);
    delay = Math.min(delay + 500, 4000);
  };
  setTimeout(poll, delay);
})();
