import { request, type IncomingHttpHeaders } from 'node:http';

/**
 * A JSON POST sent from another loopback address (127.0.0.2, …) to a server on 127.0.0.1, so
 * per-address limits see a different client. fetch cannot pick its source address.
 */
export function postFrom(
  localAddress: string,
  url: string,
  path: string,
  json: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: any }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(json);
    const req = request(
      url + path,
      { method: 'POST', localAddress, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
