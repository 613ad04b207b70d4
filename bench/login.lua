-- wrk script: log in continuously as the bench user (POST /auth/token, form body).
wrk.method = "POST"
wrk.body = "username=bench@example.com&password=benchpass1"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
