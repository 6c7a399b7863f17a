-- wrk script: POST token requests taken in turn from the file named by GATEHOUSE_BENCH_BODIES, one body
-- a line: client-credentials requests each with its own pre-signed client assertion (a jti can be used
-- once), or refresh requests of many families (bench/users.sh).
local bodies = {}
local i = 0

function init(args)
  for line in io.lines(os.getenv("GATEHOUSE_BENCH_BODIES")) do
    bodies[#bodies + 1] = line
  end
end

function request()
  i = i + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded"},
    bodies[(i - 1) % #bodies + 1])
end
