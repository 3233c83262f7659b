// Arena dashboard: draws the plotly figures a page embeds, and keeps the counters of runs that
// are still going up to date by polling the JSON endpoints (no framework, no build step).
// What the server sends is written as text (textContent), never parsed as HTML: progress
// names come from agents. The page's Content-Security-Policy allows this file, no inline script.
"use strict";

function drawFigures() {
  if (typeof Plotly === "undefined") return;
  for (const data of document.querySelectorAll('script[type="application/json"][data-for]')) {
    const target = document.querySelector(`[data-figure="${data.dataset.for}"]`);
    const figure = JSON.parse(data.textContent);
    Plotly.newPlot(target, figure.data, figure.layout, { responsive: true, displaylogo: false });
  }
}

function setCell(row, field, text) {
  const cell = row && row.querySelector(`[data-field="${field}"]`);
  if (cell && cell.textContent !== text) cell.textContent = text;
}

function setState(row, state) {
  const badge = row && row.querySelector(`[data-field="state"] .state`);
  if (!badge || badge.textContent === state) return;
  badge.textContent = state;
  badge.className = `state ${state}`;
}

function submitOnChange() {
  for (const select of document.querySelectorAll("select[data-submit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
}

const FINISHED = ["succeeded", "failed", "cancelled", "empty"];

function duration(seconds) {  // as views/jobs.py writes it: 42s, 3m05s, 1h02m
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole}s`;
  const pad = (n) => String(n).padStart(2, "0");
  if (whole < 3600) return `${Math.floor(whole / 60)}m${pad(whole % 60)}s`;
  return `${Math.floor(whole / 3600)}h${pad(Math.floor((whole % 3600) / 60))}m`;
}

function timeText(p) {  // as views/jobs.py writes it: elapsed, ~left (benchmark ~left)
  if (!p.benchmark) return "";
  let text = duration(p.elapsed_s || 0);
  if (p.remaining_s != null) text += `, ~${duration(p.remaining_s)} left`;
  if (p.benchmark_remaining_s != null) text += ` (${p.benchmark} ~${duration(p.benchmark_remaining_s)})`;
  return text;
}

async function pollRun(summary) {
  const response = await fetch(`/api/runs/${summary.dataset.run}`);
  if (!response.ok) return false;
  const detail = await response.json();
  const run = detail.run;
  setState(summary, run.state);
  setCell(summary, "jobs", `${run.jobs_done} / ${run.jobs_total}`);
  setCell(summary, "samples", String(run.samples));
  for (const job of detail.jobs) {
    const row = document.querySelector(`tr[data-job="${job.job_id}"]`);
    const p = job.progress || {};
    const running = job.state === "running";
    setState(row, job.state);
    const counted = job.requests_expected || job.samples;  // as views/jobs.py writes it
    setCell(row, "requests", counted ? `${job.samples} / ${job.requests_expected}` : "—");
    setCell(row, "tps", running && p.output_tokens_per_s != null ? p.output_tokens_per_s.toFixed(1) : "—");
    setCell(row, "errors", String(p.errors || 0));
    setCell(row, "position", running && p.benchmark ? `${p.benchmark} ${p.variant} run ${p.run}` : "");
    setCell(row, "time", running ? timeText(p) : "");
  }
  if (FINISHED.includes(run.state)) {
    window.location.reload();  // the results and charts are complete now
    return false;
  }
  return true;
}

async function pollRuns(table) {
  const response = await fetch(table.dataset.poll);
  if (!response.ok) return false;
  let active = false;
  for (const run of await response.json()) {
    const row = table.querySelector(`tr[data-run="${run.run_id}"]`);
    setState(row, run.state);
    setCell(row, "jobs", `${run.jobs_done} / ${run.jobs_total}`);
    setCell(row, "samples", run.samples.toLocaleString("en-US"));  // as the page writes it
    active = active || !FINISHED.includes(run.state);
  }
  return active;
}

function every(ms, poll) {
  const tick = async () => {
    let again = true;
    try { again = await poll(); } catch (error) { console.warn("poll failed", error); }
    if (again) setTimeout(tick, ms);
  };
  setTimeout(tick, ms);
}

document.addEventListener("DOMContentLoaded", () => {
  submitOnChange();
  drawFigures();
  const summary = document.querySelector("#summary[data-run]");
  if (summary && summary.dataset.finished === "false") every(1000, () => pollRun(summary));
  // A finished run whose metrics are still being computed: nothing to poll, reload until stored.
  if (summary && summary.dataset.aggregating === "true") setTimeout(() => window.location.reload(), 3000);
  const runs = document.querySelector("table#runs[data-poll]");
  if (runs) every(2000, () => pollRuns(runs));
});
