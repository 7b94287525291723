-- wrk script for Benchmarks/sidecar.sh: sends one fixed, pre-signed request.
-- The request file (REIN_BENCH_REQUEST) is written by sign_request.py:
-- line 1 "METHOD PATH", then one "Name: value" header per line.
local path = os.getenv("REIN_BENCH_REQUEST")
assert(path, "REIN_BENCH_REQUEST is not set")
local file = assert(io.open(path))
local first = true
for line in file:lines() do
    if first then
        wrk.method, wrk.path = line:match("^(%S+) (%S+)$")
        first = false
    elseif line ~= "" then
        local name, value = line:match("^([^:]+): (.*)$")
        wrk.headers[name] = value
    end
end
file:close()

-- One machine-readable line with exact figures (microseconds), next to
-- wrk's own --latency report.
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "REIN_BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
        summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
        e.status, e.connect, e.read, e.write, e.timeout))
end
