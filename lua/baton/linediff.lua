-- baton.linediff: a line diff for the run report (Myers' O(ND) greedy
-- algorithm on lines, after trimming the common prefix and suffix). Both the
-- edit distance and the output are capped, so a hostile or huge file costs a
-- bounded amount of time and report size; past the cap the changed middle is
-- shown as one replaced block.
local M = {}

function M.lines(text)
  local t = {}
  for line in tostring(text or ""):gmatch("([^\n]*)\n?") do t[#t + 1] = line end
  if t[#t] == "" then t[#t] = nil end -- the gmatch yields one empty match at the end
  return t
end

-- The shortest edit script of a[lo_a..hi_a] into b[lo_b..hi_b], as a list of
-- {op, line} with op " ", "-" or "+"; nil when it needs more than maxd edits.
local function myers(a, b, oa, ob, n, m, maxd)
  local v, trace = { [1] = 0 }, {}
  local found
  for d = 0, math.min(n + m, maxd) do
    local copy = {}
    for k = -d - 1, d + 1 do copy[k] = v[k] end
    trace[d] = copy
    for k = -d, d, 2 do
      local x
      if k == -d or (k ~= d and v[k - 1] < v[k + 1]) then x = v[k + 1] else x = v[k - 1] + 1 end
      local y = x - k
      while x < n and y < m and a[oa + x + 1] == b[ob + y + 1] do x, y = x + 1, y + 1 end
      v[k] = x
      if x >= n and y >= m then found = d break end
    end
    if found then break end
  end
  if not found then return nil end
  local rev, x, y = {}, n, m
  for d = found, 0, -1 do
    local pv, k = trace[d], x - y
    local pk = (k == -d or (k ~= d and pv[k - 1] < pv[k + 1])) and k + 1 or k - 1
    local px = pv[pk]
    local py = px - pk
    while x > px and y > py do rev[#rev + 1] = { " ", a[oa + x] } x, y = x - 1, y - 1 end
    if d > 0 then
      if x == px then rev[#rev + 1] = { "+", b[ob + y] } else rev[#rev + 1] = { "-", a[oa + x] } end
    end
    x, y = px, py
  end
  local out = {}
  for i = #rev, 1, -1 do out[#out + 1] = rev[i] end
  return out
end

-- The full edit script (equal lines included) of old into new line lists.
function M.script(a, b, maxd)
  local pre, na, nb = 0, #a, #b
  while pre < na and pre < nb and a[pre + 1] == b[pre + 1] do pre = pre + 1 end
  local suf = 0
  while suf < na - pre and suf < nb - pre and a[na - suf] == b[nb - suf] do suf = suf + 1 end
  local ops = {}
  for i = 1, pre do ops[#ops + 1] = { " ", a[i] } end
  local mid = myers(a, b, pre, pre, na - pre - suf, nb - pre - suf, maxd or 1000)
  if not mid then
    mid = {}
    for i = pre + 1, na - suf do mid[#mid + 1] = { "-", a[i] } end
    for i = pre + 1, nb - suf do mid[#mid + 1] = { "+", b[i] } end
  end
  table.move(mid, 1, #mid, #ops + 1, ops)
  for i = na - suf + 1, na do ops[#ops + 1] = { " ", a[i] } end
  return ops
end

-- unified(old_text, new_text [, {context=3, max_lines=400, maxd=1000}]) ->
-- {lines={"@@ -a,b +c,d @@", "-old", "+new", " same", ...}, added=, removed=, truncated=}
function M.unified(old, new, opts)
  opts = opts or {}
  local ctx, cap = opts.context or 3, opts.max_lines or 400
  local a, b = M.lines(old), M.lines(new)
  local ops = M.script(a, b, opts.maxd)
  local res = { lines = {}, added = 0, removed = 0, truncated = false }
  local keep = {} -- which ops fall within ctx of a change
  for i, op in ipairs(ops) do
    if op[1] ~= " " then
      if op[1] == "+" then res.added = res.added + 1 else res.removed = res.removed + 1 end
      for j = math.max(1, i - ctx), math.min(#ops, i + ctx) do keep[j] = true end
    end
  end
  local ia, ib, i = 0, 0, 1
  while i <= #ops do
    if keep[i] then
      local j, da, db = i, 0, 0
      while j <= #ops and keep[j] do
        if ops[j][1] ~= "+" then da = da + 1 end
        if ops[j][1] ~= "-" then db = db + 1 end
        j = j + 1
      end
      if #res.lines + 1 > cap then res.truncated = true break end
      res.lines[#res.lines + 1] = string.format("@@ -%d,%d +%d,%d @@", ia + 1, da, ib + 1, db)
      for k = i, j - 1 do
        if #res.lines >= cap then res.truncated = true break end
        res.lines[#res.lines + 1] = ops[k][1] .. ops[k][2]
      end
      if res.truncated then break end
      ia, ib, i = ia + da, ib + db, j
    else
      if ops[i][1] ~= "+" then ia = ia + 1 end
      if ops[i][1] ~= "-" then ib = ib + 1 end
      i = i + 1
    end
  end
  return res
end

return M
