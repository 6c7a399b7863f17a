-- wrk script: client-credentials requests spread over many clients of many tenants. Each line of the
-- file named by GATEHOUSE_BENCH_CLIENTS is `TENANT_ID FORM_BODY`; requests take the lines in turn.
local clients = {}
local i = 0

function init(args)
  for line in io.lines(os.getenv("GATEHOUSE_BENCH_CLIENTS")) do
    local tenant, body = line:match("^(%S+) (.+)$")
    clients[#clients + 1] = {"/" .. tenant .. "/oauth2/v2.0/token", body}
  end
end

function request()
  i = i + 1
  local c = clients[(i - 1) % #clients + 1]
  return wrk.format("POST", c[1], {["Content-Type"] = "application/x-www-form-urlencoded"}, c[2])
end
