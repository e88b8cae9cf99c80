/**
 * Upload resume state in IndexedDB: what a reloaded page needs to continue an upload without
 * sending finished parts again. Records hold the server's create response (with the upload's
 * bearer token), the 71-byte seal seed (which yields the data key, so the same bytes are
 * resealed identically) and the ETags of finished parts. A record is deleted when its upload
 * completes or is aborted.
 */

export interface ResumeRecord {
  uploadId: string;
  endpoint: string;
  created: unknown;
  seed: number[];
  etags: Record<string, string>;
  fileName: string;
  fileSize: number;
  lastModified: number;
}

const DB = "cinelock";
const STORE = "uploads";

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

let opening: Promise<IDBDatabase> | undefined;
function db(): Promise<IDBDatabase> {
  opening ??= new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE, { keyPath: "uploadId" });
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  return opening;
}

async function store(mode: IDBTransactionMode): Promise<IDBObjectStore> {
  return (await db()).transaction(STORE, mode).objectStore(STORE);
}

export async function loadRecord(uploadId: string): Promise<ResumeRecord | undefined> {
  return request((await store("readonly")).get(uploadId));
}

export async function saveRecord(record: ResumeRecord): Promise<void> {
  await request((await store("readwrite")).put(record));
}

export async function deleteRecord(uploadId: string): Promise<void> {
  await request((await store("readwrite")).delete(uploadId));
}

export async function allRecords(): Promise<ResumeRecord[]> {
  return request((await store("readonly")).getAll());
}
