// A minimal S3 client (AWS Signature V4, path-style) for tests that read, list and overwrite
// objects in the bucket directly, as an attacker with bucket access would.
import { createHash, createHmac } from "node:crypto";

const sha256 = (data) => createHash("sha256").update(data).digest("hex");
const hmac = (key, data) => createHmac("sha256", key).update(data).digest();
// RFC 3986 encoding, as SigV4 wants it.
const enc = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export function s3Client({ endpoint, region, bucket, accessKey, secretKey }) {
  async function request(method, key, { query = {}, body } = {}) {
    const path = `/${bucket}/${key.split("/").map(enc).join("/")}`;
    const url = new URL(endpoint + path);
    const qs = Object.keys(query).sort().map((k) => `${enc(k)}=${enc(query[k])}`).join("&");
    if (qs) url.search = qs;
    const amzDate = new Date().toISOString().replace(/[:-]|\.\d{3}/g, "");
    const date = amzDate.slice(0, 8);
    const payload = sha256(body ?? "");
    const headers = { host: url.host, "x-amz-content-sha256": payload, "x-amz-date": amzDate };
    const signed = Object.keys(headers).sort();
    const canonical = [method, path, qs, signed.map((h) => `${h}:${headers[h]}\n`).join(""), signed.join(";"), payload].join("\n");
    const scope = `${date}/${region}/s3/aws4_request`;
    const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
    let k = hmac(`AWS4${secretKey}`, date);
    for (const part of [region, "s3", "aws4_request"]) k = hmac(k, part);
    const signature = createHmac("sha256", k).update(toSign).digest("hex");
    const { host: _host, ...sent } = headers;
    sent.authorization = `AWS4-HMAC-SHA256 Credential=${accessKey}/${scope}, SignedHeaders=${signed.join(";")}, Signature=${signature}`;
    const res = await fetch(url, { method, headers: sent, body });
    if (!res.ok) throw new Error(`S3 ${method} ${key}: HTTP ${res.status} ${await res.text()}`);
    return res;
  }
  /** A presigned GET URL (query-string SigV4), as the server makes them. */
  function presign(key, expiresSeconds = 900) {
    const path = `/${bucket}/${key.split("/").map(enc).join("/")}`;
    const url = new URL(endpoint + path);
    const amzDate = new Date().toISOString().replace(/[:-]|\.\d{3}/g, "");
    const date = amzDate.slice(0, 8);
    const scope = `${date}/${region}/s3/aws4_request`;
    const query = {
      "X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-Credential": `${accessKey}/${scope}`, "X-Amz-Date": amzDate,
      "X-Amz-Expires": String(expiresSeconds), "X-Amz-SignedHeaders": "host",
    };
    const qs = Object.keys(query).sort().map((k) => `${enc(k)}=${enc(query[k])}`).join("&");
    const canonical = ["GET", path, qs, `host:${url.host}\n`, "host", "UNSIGNED-PAYLOAD"].join("\n");
    const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
    let k = hmac(`AWS4${secretKey}`, date);
    for (const part of [region, "s3", "aws4_request"]) k = hmac(k, part);
    url.search = `${qs}&X-Amz-Signature=${createHmac("sha256", k).update(toSign).digest("hex")}`;
    return url.href;
  }
  return {
    presign,
    async get(key) {
      return Buffer.from(await (await request("GET", key)).arrayBuffer());
    },
    async put(key, bytes) {
      await request("PUT", key, { body: bytes });
    },
    async list(prefix) {
      const keys = [];
      let token;
      do {
        const query = { "list-type": "2", prefix, ...(token ? { "continuation-token": token } : {}) };
        const xml = await (await request("GET", "", { query })).text();
        for (const m of xml.matchAll(/<Key>([^<]*)<\/Key>/g)) keys.push(m[1].replace(/&amp;/g, "&"));
        token = xml.match(/<NextContinuationToken>([^<]*)</)?.[1];
      } while (token);
      return keys;
    },
  };
}
