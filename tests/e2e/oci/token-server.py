#!/usr/bin/env python3
"""A Docker token server (distribution's token auth spec) for docker-registry tests.
    token-server.py PORT KEY.pem CERT.pem USER:PASS LOGFILE
GET /token?service=S&scope=repository:NAME:ACTIONS[&scope=...] with Basic USER:PASS (or
anonymous: pull only) answers {"token": JWT, "access_token": JWT}; the JWT is RS256-signed
(openssl) and carries the certificate in x5c so the registry can check it against its
rootcertbundle. Every request is logged (scopes, authenticated or not)."""
import base64, http.server, json, subprocess, sys, time, urllib.parse

port, key, cert, cred, logf = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"], capture_output=True, check=True).stdout


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def sign(claims):
    head = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
    msg = (b64u(json.dumps(head).encode()) + "." + b64u(json.dumps(claims).encode())).encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=msg, capture_output=True, check=True).stdout
    return msg.decode() + "." + b64u(sig)


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        auth = self.headers.get("Authorization", "")
        user = None
        if auth.startswith("Basic "):
            if base64.b64decode(auth[6:]).decode() != cred:
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                body = b'{"details":"incorrect username or password"}'
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                open(logf, "a").write("denied\n")
                return
            user = cred.split(":")[0]
        access = []
        for sc in q.get("scope", []):
            typ, name, actions = sc.split(":")
            acts = actions.split(",")
            if user is None:
                acts = [a for a in acts if a == "pull"]
            access.append({"type": typ, "name": name, "actions": acts})
        now = int(time.time())
        tok = sign({"iss": "test-issuer", "sub": user or "", "aud": q.get("service", [""])[0], "exp": now + 300,
                    "nbf": now - 10, "iat": now, "jti": str(now), "access": access})
        open(logf, "a").write(f"token user={user} scopes={q.get('scope', [])}\n")
        body = json.dumps({"token": tok, "access_token": tok, "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
