-- baton.snapstore: read-only access to the harness's content-addressed
-- snapshot store (<workspace>/.baton/objects, written by core/snapshot.c):
-- blobs live at <store>/<2 hex>/<62 hex>, a manifest is a blob whose hash is
-- the snapshot ref. The report uses it to list a snapshot's files and diff
-- them; it never writes. Failures return nil, message, code.
local M = {}

local function valid_hash(h) return type(h) == "string" and #h == 64 and not h:find("[^0-9a-f]") end

-- The bytes of blob hash, or nil, message, code.
function M.blob(store, hash)
  if not valid_hash(hash) then
    return nil, string.format("snapstore: '%s' is not a SHA-256 hex ref", tostring(hash)), "bad_ref"
  end
  local f = io.open(store .. "/" .. hash:sub(1, 2) .. "/" .. hash:sub(3), "rb")
  if not f then
    return nil, string.format("snapstore: object %s is missing from %s", hash:sub(1, 12), store), "missing"
  end
  local data = f:read("a")
  f:close()
  return data
end

local function unescape(p)
  return (p:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- The manifest of snapshot ref: {[path] = {type="f"|"d"|"l", mode=, size=, hash=}},
-- or nil, message, code ("bad_ref", "missing", "bad_manifest").
function M.manifest(store, ref)
  local text, err, code = M.blob(store, ref)
  if not text then return nil, err, code end
  local first = text:match("^baton%-snapshot 1 %-?%d+\n")
  if not first then
    return nil, string.format("snapstore: %s is not a snapshot manifest", ref:sub(1, 12)), "bad_manifest"
  end
  local files = {}
  for line in text:sub(#first + 1):gmatch("([^\n]+)") do
    local ty, mode, size, hash, path = line:match("^(%a) (%d+) (%-?%d+) %-?%d+ %-?%d+ %d+ (%S+) (.+)$")
    if not ty then
      return nil, string.format("snapstore: bad line in manifest %s", ref:sub(1, 12)), "bad_manifest"
    end
    files[unescape(path)] = { type = ty, mode = tonumber(mode, 8), size = tonumber(size), hash = hash }
  end
  return files
end

return M
