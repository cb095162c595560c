-- Shift the headings inside a div by its `shift-heading-level-by` attribute and drop the div, so that an
-- article can include a book chapter one level deeper: ::: {shift-heading-level-by="1"} ... :::
function Div(div)
  local by = tonumber(div.attributes["shift-heading-level-by"])
  if by == nil then
    return nil
  end
  local shifted = div:walk({
    Header = function(h)
      h.level = math.max(1, h.level + by)
      return h
    end,
  })
  return shifted.content
end
