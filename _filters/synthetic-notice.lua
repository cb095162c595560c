-- ipsreport: the built-in engine does this itself
--[[
Under Quarto: the synthetic-data notice at the top of every HTML page and at the start of the PDF and DOCX,
where the built-in engine prints its banner. The wording comes from the data, not from this file: the
`notice` of every data/*/dataset.yaml that says `synthetic: true` (folder order), read as plain text.
A page that already shows the notice (a "Synthetic data" warning callout) gets no second one.
]]

local DEFAULT = "The data in this report are a synthetic reconstruction generated from published summary "
  .. "statistics, not the trial's participant data. Numbers agree with the publications only approximately."

local function project_root()
  if quarto and quarto.project and quarto.project.directory then
    return quarto.project.directory
  end
  return os.getenv("QUARTO_PROJECT_ROOT") or "."
end

local function read(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return text
end

local function notices()
  local data = pandoc.path.join({ project_root(), "data" })
  local ok, entries = pcall(pandoc.system.list_directory, data)
  if not ok then return {} end
  table.sort(entries)
  local out = {}
  for _, name in ipairs(entries) do
    local text = read(pandoc.path.join({ data, name, "dataset.yaml" }))
    if text then
      -- pandoc reads the YAML as a metadata block (no raw HTML/TeX/attributes, so markup in the data stays text);
      -- the notice is flattened to plain text.
      local meta = pandoc.read("---\n" .. text .. "\n---\n", "markdown-raw_html-raw_tex-raw_attribute").meta
      if meta.synthetic == true then
        local notice = meta.notice and pandoc.utils.stringify(meta.notice) or DEFAULT
        table.insert(out, notice)
      end
    end
  end
  return out
end

local function shows_notice(blocks)
  local found = false
  pandoc.Blocks(blocks):walk({
    Div = function(div)
      if div.classes:includes("ipsr-notice") then found = true end
      if div.classes:includes("callout-warning") then
        if div.attributes.title == "Synthetic data" then found = true end
        local first = div.content[1]
        if first and first.t == "Header" and pandoc.utils.stringify(first) == "Synthetic data" then found = true end
      end
    end,
  })
  return found
end

function Pandoc(doc)
  local texts = notices()
  if #texts == 0 or shows_notice(doc.blocks) then return nil end
  local notice = pandoc.Div(
    { pandoc.Para(pandoc.Inlines(table.concat(texts, " "))) },
    pandoc.Attr("", { "callout-warning", "ipsr-notice" }, { title = "Synthetic data" })
  )
  doc.blocks:insert(1, notice)
  return doc
end
