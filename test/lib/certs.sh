# certs.sh: the test PKI, made with openssl for each run — a CA and a
# server certificate it signs for relay.test and 127.0.0.1 (so clients
# can verify by name or by IP).  Source it, then:
#
#   certs_make DIR   write DIR/ca.pem, DIR/server.pem, DIR/server.key;
#                    openssl's output goes to DIR/log; false on failure

certs_make()
{
	(
		cd "$1" || exit 1
		cat >openssl.cnf <<'EOF_CNF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:relay.test
authorityKeyIdentifier = keyid
EOF_CNF
		openssl req -x509 -new -newkey rsa:2048 -nodes -days 30 \
			-subj "/CN=tern test CA" -config openssl.cnf -extensions ca \
			-keyout ca.key -out ca.pem &&
		openssl req -new -newkey rsa:2048 -nodes -subj "/CN=relay.test" \
			-config openssl.cnf -keyout server.key -out server.csr &&
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
			-CAcreateserial -days 30 -extfile openssl.cnf \
			-extensions server -out server.pem
	) >"$1/log" 2>&1
}
