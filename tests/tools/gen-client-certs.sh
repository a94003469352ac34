#!/usr/bin/env bash
# gen-client-certs.sh OUTDIR - the certificates test_tls_client.sh points TLS clients at, made at
# test time (nothing is committed): a test root CA, an intermediate CA under it, an untrusted CA,
# and server certificates (ECDSA P-256; SAN localhost, 127.0.0.1, ::1 unless said otherwise):
#   good.pem          signed by the root
#   wronghost.pem     signed by the root, SAN DNS:wrong.example only
#   expired.pem       signed by the root, valid 2020-01-01 .. 2021-01-01
#   notyet.pem        signed by the root, valid from a year from now
#   selfsigned.pem    signed by its own key
#   untrusted.pem     signed by the untrusted CA
#   leaf-int.pem      signed by the intermediate (serve it alone: the intermediate is missing;
#                     leaf-int-chain.pem is leaf + intermediate, a complete chain)
#   clientonly.pem    signed by the root, but extendedKeyUsage clientAuth only (not for servers)
#   nosan-cn.pem      signed by the root, no subjectAltName, CN=localhost (the CN fallback)
#   expired-wrong.pem expired and for wrong.example only (two problems at once)
# each with NAME.key, plus client.pem/client.key (clientAuth, signed by the root) for mutual TLS.
# Dated certificates go through `openssl ca` (explicit -startdate/-enddate); the rest `openssl x509`.
set -euo pipefail
out=${1:?usage: gen-client-certs.sh OUTDIR}
mkdir -p "$out"
cd "$out"
ossl() { openssl "$@" 2> /dev/null; }
key() { ossl ecparam -name prime256v1 -genkey -noout -out "$1.key"; }

key root
ossl req -new -x509 -key root.key -sha256 -days 30 -subj "/CN=Test Root CA" -out root.pem
key untrusted-ca
ossl req -new -x509 -key untrusted-ca.key -sha256 -days 30 -subj "/CN=Untrusted CA" -out untrusted-ca.pem
cat > ca.ext << 'EOT'
basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign
EOT
cat > server.ext << 'EOT'
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
extendedKeyUsage=serverAuth
EOT
echo "subjectAltName=DNS:wrong.example" > wronghost.ext
echo "extendedKeyUsage=serverAuth" > nosan.ext
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=clientAuth\n' > clientonly.ext
echo "extendedKeyUsage=clientAuth" > client.ext

sign() { # NAME CA EXTFILE CN
    key "$1"
    ossl req -new -key "$1.key" -subj "/CN=$4" -out "$1.csr"
    ossl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 30 -sha256 \
        -extfile "$3" -out "$1.pem"
    rm -f "$1.csr"
}
sign intermediate root ca.ext "Test Intermediate CA"
sign good root server.ext localhost
sign wronghost root wronghost.ext wrong.example
sign untrusted untrusted-ca server.ext localhost
sign leaf-int intermediate server.ext localhost
cat leaf-int.pem intermediate.pem > leaf-int-chain.pem
sign clientonly root clientonly.ext localhost
sign nosan-cn root nosan.ext localhost
sign client root client.ext "portal-test-client"
key selfsigned
ossl req -new -x509 -key selfsigned.key -sha256 -days 30 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" -out selfsigned.pem

# Certificates with dates in the past or the future: `openssl ca` takes them explicitly.
mkdir -p ca-db
: > ca-db/index.txt
echo 1000 > ca-db/serial
cat > ca.cnf << 'EOT'
[ca]
default_ca = test_ca
[test_ca]
database = ca-db/index.txt
new_certs_dir = ca-db
serial = ca-db/serial
default_md = sha256
policy = policy_any
unique_subject = no
[policy_any]
commonName = supplied
EOT
dated() { # NAME START END (YYYYMMDDHHMMSSZ) [EXTFILE]
    key "$1"
    ossl req -new -key "$1.key" -subj "/CN=localhost" -out "$1.csr"
    ossl ca -batch -config ca.cnf -cert root.pem -keyfile root.key -in "$1.csr" -out "$1.pem" \
        -startdate "$2" -enddate "$3" -extfile "${4:-server.ext}" -notext
    rm -f "$1.csr"
}
dated expired 20200101000000Z 20210101000000Z
dated notyet "$(date -u -d '+1 year' +%Y%m%d%H%M%SZ)" "$(date -u -d '+2 years' +%Y%m%d%H%M%SZ)"
dated expired-wrong 20200101000000Z 20210101000000Z wronghost.ext
for f in good wronghost expired notyet selfsigned untrusted leaf-int leaf-int-chain clientonly nosan-cn expired-wrong client intermediate; do
    [ -s "$f.pem" ] || { echo "gen-client-certs.sh: $f.pem was not made" >&2; exit 1; }
done
