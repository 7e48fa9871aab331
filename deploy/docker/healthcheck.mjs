// Container HEALTHCHECK: GET /healthz on the service's HTTP port with node's built-in fetch (the slim
// image has no curl). Exit 0 = healthy, 1 = unhealthy, as Docker expects.
const port = process.env.HTTP_PORT || '8000';
const url = `http://127.0.0.1:${port}/healthz`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  if (!res.ok) console.error(`healthcheck: ${url} answered ${res.status}`);
  process.exit(res.ok ? 0 : 1);
} catch (err) {
  console.error(`healthcheck: ${url} unreachable: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
