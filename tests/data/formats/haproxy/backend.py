# tiny HTTP backend for the haproxy run: status chosen by path
import http.server, time, sys
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def handle_one(self):
        p = self.path
        if p.startswith("/slow"): time.sleep(0.6)
        st = 404 if "missing" in p else 500 if "boom" in p else 302 if p.startswith("/login") else 201 if self.command == "POST" else 200
        body = (b"x" * (len(p) * 37 % 2000)) if st == 200 else b"err"
        try:
            self.send_response(st); self.send_header("Content-Length", str(len(body)))
            if st == 302: self.send_header("Location", "/home")
            self.end_headers(); self.wfile.write(body)
        except BrokenPipeError:
            pass
    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_one
http.server.ThreadingHTTPServer(("127.0.0.1", 18082), H).serve_forever()
