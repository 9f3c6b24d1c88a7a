-- wrk script: every request is a valid, distinct portal submission (B1).
-- Titles are 4-6 words drawn from a vocabulary, plus a unique tail, so rows differ like real ones.
local words = {
  "sommarjobb", "unga", "rosengård", "praktik", "mentorskap", "nyanlända", "etablering", "bygg", "hamn",
  "logistik", "vård", "omsorg", "skola", "språk", "kompetens", "rekrytering", "digital", "klimat", "energi",
  "solceller", "cirkulär", "handel", "restaurang", "turism", "kultur", "idrott", "föreningar", "lokaler",
  "investering", "finansiering", "startup", "innovation", "fastighet", "stadsdel", "trygghet", "mobilitet",
  "cykel", "elbil", "laddning", "vatten", "återbruk", "textil", "livsmedel", "matsvinn", "hälsa", "äldre",
  "barn", "familj", "utbildning", "yrkeshögskola", "lärling", "sysselsättning", "arbetsmarknad", "jämställdhet",
  "inkludering", "tillgänglighet", "kollektivtrafik", "service", "industri", "tillverkning", "design", "media",
  "spel", "musik", "konst", "bibliotek", "park", "grönområde", "odling", "biologisk", "mångfald", "kust",
  "fiske", "sjöfart", "godstrafik", "flyg", "järnväg", "bostad", "renovering", "energieffektiv", "värme",
  "kyla", "data", "säkerhet", "molntjänst", "automation", "robot", "ai", "analys", "forskning", "universitet",
  "samverkan", "nätverk", "partnerskap", "pilot", "test", "modell", "plattform", "centrum", "program",
}
local counter = 0
thread_tag = "0"  -- global: setup() sets it per thread

function setup(thread)
  thread:set("thread_tag", tostring(math.random(100000, 999999)))
end

function init(args)
  math.randomseed(os.time() + tonumber(thread_tag))
end

local function title()
  local parts = {}
  for i = 1, math.random(4, 6) do
    parts[i] = words[math.random(#words)]
  end
  counter = counter + 1
  return table.concat(parts, " ") .. " " .. thread_tag .. "-" .. counter
end

local template = '{"title": "%s", "summary": "Ett initiativ om %s i Malmö.", '
  .. '"description": "Vi söker partner för att pröva idén tillsammans med staden.", '
  .. '"originator": {"organisation_name": "Bench AB", "organisation_type": "business", '
  .. '"contact_name": "Bench Person", "contact_email": "bench%d@bench.example"}, '
  .. '"themes": ["employment"], "seeking": ["collaboration_partners"], '
  .. '"competences_needed": ["recruitment"], "group_size": {"min": 2, "max": 4}, "consent": true}'

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function request()
  local t = title()
  return wrk.format(nil, nil, nil, string.format(template, t, t, counter))
end
