-- wrk script of the benchmark: requests taken from a file, results as one JSON line.
--
--   wrk -t2 -c64 -d10s -s bench/wrk/requests.lua http://127.0.0.1:8000 -- FILE NONCE
--
-- FILE has one request a line, fields separated by tabs:
--
--   METHOD <tab> PATH <tab> HEADERS <tab> BODY
--
-- HEADERS is "Name: value" pairs separated by the byte 0x1f (may be empty); BODY may be
-- empty. "{{n}}" in a header or the body becomes a token unique to this run (NONCE),
-- thread and request: an Idempotency-Key, a URL that must not repeat. Each request picks
-- a line at random, so that the server sees many ids rather than one cached row.
--
-- done() prints one line, "WRK_JSON {...}": requests, duration, bytes, socket and status
-- errors (wrk counts a status >= 400 as one) and latency percentiles in microseconds.

local lines = {}
local count = 0
local nonce = "run"
local counter = 0
-- `thread_number` is a global that setup() sets in each thread's own Lua state.
local started = 0

function setup(thread)
   started = started + 1
   thread:set("thread_number", started)
end

local function split(text, separator)
   local parts = {}
   local start = 1
   while true do
      local i = string.find(text, separator, start, true)
      if i == nil then
         parts[#parts + 1] = string.sub(text, start)
         return parts
      end
      parts[#parts + 1] = string.sub(text, start, i - 1)
      start = i + 1
   end
end

function init(args)
   local path = args[1]
   nonce = args[2] or "run"
   math.randomseed(os.time() * 1000 + (thread_number or 0))
   for line in io.lines(path) do
      if line ~= "" then
         local fields = split(line, "\t")
         local headers = {}
         if fields[3] ~= nil and fields[3] ~= "" then
            for _, pair in ipairs(split(fields[3], "\31")) do
               local colon = string.find(pair, ":", 1, true)
               headers[string.sub(pair, 1, colon - 1)] = string.sub(pair, colon + 2)
            end
         end
         local body = fields[4]
         if body == "" then body = nil end
         local templated = string.find(line, "{{n}}", 1, true) ~= nil
         local entry = {method = fields[1], path = fields[2], headers = headers, body = body,
                        templated = templated}
         if not templated then
            -- Formatted once: the request is the same bytes every time.
            local copy = {}
            for name, value in pairs(headers) do copy[name] = value end
            entry.raw = wrk.format(entry.method, entry.path, copy, body)
         end
         count = count + 1
         lines[count] = entry
      end
   end
   if count == 0 then
      error("no requests in " .. path)
   end
end

function request()
   local entry = lines[math.random(count)]
   if not entry.templated then
      return entry.raw
   end
   counter = counter + 1
   local token = nonce .. "-" .. (thread_number or 0) .. "-" .. counter
   local headers = {}
   for name, value in pairs(entry.headers) do
      headers[name] = (string.gsub(value, "{{n}}", token))
   end
   local body = entry.body
   if body ~= nil then
      body = (string.gsub(body, "{{n}}", token))
   end
   return wrk.format(entry.method, entry.path, headers, body)
end

function done(summary, latency, requests)
   local percentiles = {}
   for _, p in ipairs({50, 75, 90, 99, 99.9}) do
      percentiles[#percentiles + 1] = string.format('"p%s": %d', tostring(p), latency:percentile(p))
   end
   local errors = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
      '"latency_us": {"mean": %.1f, "stdev": %.1f, "max": %d, %s}}\n',
      summary.requests, summary.duration, summary.bytes,
      errors.connect, errors.read, errors.write, errors.status, errors.timeout,
      latency.mean, latency.stdev, latency.max, table.concat(percentiles, ", ")))
end
