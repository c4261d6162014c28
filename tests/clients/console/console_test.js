// The web console in a real browser: Debian's headless Chromium driven by
// puppeteer-core. Run by tests/integration/test_console.py:
//
//   node console_test.js BASE_URL SCREENSHOT_DIR PLAN_JSON
//
// PLAN_JSON names the things the Python side created through the three
// protocols (topic, group, tube, stream...). The script visits every page,
// saves a screenshot of each, reads what the page shows (cards and table
// cells by their ids and test attributes), performs the console actions
// (create a topic, reset a group's offsets, kick a job, produce a message,
// pause a tube), and prints one JSON object: what each page showed, the
// outcome of each action, and every console error, page error, failed
// request and HTTP error status the browser saw. The Python side asserts on
// it and checks the broker through the protocols.
'use strict';

const puppeteer = require('puppeteer-core');
const path = require('path');

const [base, shots, planJson] = process.argv.slice(2);
const plan = JSON.parse(planJson);
const out = { pages: {}, actions: {}, errors: [] };

async function main() {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
      '--disable-extensions', '--font-render-hinting=none'],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    page.on('console', (m) => {
      if (m.type() === 'error') out.errors.push('console: ' + m.text());
    });
    page.on('pageerror', (e) => out.errors.push('pageerror: ' + e.message));
    page.on('requestfailed', (r) => out.errors.push('requestfailed: ' + r.url() + ' ' + (r.failure() || {}).errorText));
    page.on('response', (r) => {
      if (r.status() >= 400 && !plan.expectHttpErrors) out.errors.push('http ' + r.status() + ': ' + r.url());
    });

    async function visit(name, hash) {
      await page.goto(base + '/' + hash, { waitUntil: 'load' });
      await page.waitForSelector('#view[data-loaded]', { timeout: 20000 });
      await page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true });
      const info = await page.evaluate(() => {
        const txt = (sel) => { const e = document.querySelector(sel); return e ? e.textContent.trim() : null; };
        const cells = [...document.querySelectorAll('table tbody tr')].map((tr) =>
          [...tr.querySelectorAll('td')].map((td) => td.textContent.trim()));
        const cards = {};
        for (const c of document.querySelectorAll('.card .value[id]')) cards[c.id] = c.textContent.trim();
        return {
          title: txt('h1'), error: txt('#view-error'), rows: cells, cards,
          loaded: document.getElementById('view').getAttribute('data-loaded'),
          text: document.getElementById('view').innerText,
        };
      });
      out.pages[name] = info;
      return info;
    }

    // Waits for the toast an action shows, then for the redrawn view.
    async function outcome(name) {
      await page.waitForFunction(() => {
        const t = document.getElementById('toast');
        return !t.hidden && t.textContent.length > 0;
      }, { timeout: 20000 });
      const text = await page.$eval('#toast', (t) => t.textContent);
      await page.waitForSelector('#view[data-loaded]', { timeout: 20000 });
      out.actions[name] = text;
      await page.$eval('#toast', (t) => { t.hidden = true; t.textContent = ''; });
    }

    async function confirm() {
      await page.waitForSelector('#modal:not([hidden])', { timeout: 10000 });
      await page.click('#confirm-ok');
    }

    // Overview: wait for a second sample so the charts have lines.
    await visit('overview', '#/');
    await page.waitForFunction(() => document.getElementById('ov-uptime').textContent.length > 0);
    await new Promise((r) => setTimeout(r, 2500));
    await page.screenshot({ path: path.join(shots, 'overview.png'), fullPage: false });
    out.pages.overview.cards = await page.evaluate(() => {
      const cards = {};
      for (const c of document.querySelectorAll('.card .value[id]')) cards[c.id] = c.textContent.trim();
      return cards;
    });

    await visit('topics', '#/topics');
    await visit('topic', '#/topics/' + encodeURIComponent(plan.topic));
    await visit('messages', '#/messages/' + encodeURIComponent(plan.topic) + '?partition=0&mode=json');
    await visit('groups', '#/groups');
    await visit('group', '#/groups/' + encodeURIComponent(plan.group));
    await visit('redis', '#/redis');
    await visit('stream', '#/redis/streams/' + encodeURIComponent(plan.stream));
    await visit('tubes', '#/tubes');
    await visit('tube', '#/tubes/' + encodeURIComponent(plan.tube));

    // Action: create a topic.
    await visit('topics-before-create', '#/topics');
    await page.type('#new-topic-name', plan.newTopic);
    await page.$eval('#new-topic-partitions', (e) => { e.value = ''; });
    await page.type('#new-topic-partitions', '3');
    await page.click('#create-topic button[type=submit]');
    await outcome('create_topic');

    // Action: produce a test message from the browser.
    await visit('messages-produce', '#/messages/' + encodeURIComponent(plan.topic) + '?partition=0');
    await page.type('#produce-key', 'from-console');
    await page.type('#produce-value', plan.produceValue);
    await page.click('#produce button[type=submit]');
    await outcome('produce');
    out.pages['messages-after-produce'] = { text: await page.$eval('#view', (v) => v.innerText) };

    // Action: reset the group's offsets to the earliest (asks first).
    await visit('group-before-reset', '#/groups/' + encodeURIComponent(plan.group));
    await page.select('#reset-topic', plan.topic);
    await page.select('#reset-to', 'earliest');
    await page.click('#reset-submit');
    await confirm();
    await outcome('reset_offsets');
    await page.screenshot({ path: path.join(shots, 'group-after-reset.png'), fullPage: true });
    out.pages['group-after-reset'] = { cards: await page.evaluate(() => {
      const cards = {};
      for (const c of document.querySelectorAll('.card .value[id]')) cards[c.id] = c.textContent.trim();
      return cards;
    }) };

    // Action: kick the buried job from the tube's page.
    await visit('tube-before-kick', '#/tubes/' + encodeURIComponent(plan.tube));
    await page.click('[data-peek=buried] [data-kick-job]');
    await outcome('kick_job');
    await page.screenshot({ path: path.join(shots, 'tube-after-kick.png'), fullPage: true });

    // Action: pause the tube.
    await page.$eval('#pause-seconds', (e) => { e.value = ''; });
    await page.type('#pause-seconds', '120');
    await page.click('#pause-tube');
    await outcome('pause_tube');

    // A destructive action cancelled changes nothing: delete a key, cancel.
    await visit('redis-before-cancel', '#/redis');
    await page.click('[data-delete-key="' + plan.stream + '"]');
    await page.waitForSelector('#modal:not([hidden])');
    await page.click('#confirm-cancel');
    out.actions.cancelled_delete = await page.$eval('#modal', (m) => m.hidden);
  } finally {
    await browser.close();
  }
}

main().then(() => {
  process.stdout.write(JSON.stringify(out) + '\n');
}, (e) => {
  out.fatal = String(e && e.stack || e);
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exitCode = 1;
});
