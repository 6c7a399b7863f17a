-- wrk script: POST one client-credentials request per call over keep-alive connections.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = os.getenv("GATEHOUSE_BENCH_BODY")
