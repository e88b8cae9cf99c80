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
const RECORDINGS = "recordings";

/**
 * A recording in progress, kept so a closed tab's recording can be finished at the next visit
 * (see `finishRecording`). No seal seed: what finishing needs was sealed while recording and
 * waits in the browser's storage (OPFS).
 */
export interface RecordingRecord {
  uploadId: string;
  endpoint: string;
  created: unknown;
  etags: Record<string, string>;
  /** `camera` or `screen`. */
  kind: string;
  /** Unix ms. */
  startedAt: number;
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

let opening: Promise<IDBDatabase> | undefined;
function db(): Promise<IDBDatabase> {
  opening ??= new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 2);
    r.onupgradeneeded = () => {
      for (const name of [STORE, RECORDINGS]) {
        if (!r.result.objectStoreNames.contains(name)) r.result.createObjectStore(name, { keyPath: "uploadId" });
      }
    };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  return opening;
}

/** Opens the database ahead of the first upload (`prepareUploads`): the first open takes a while. */
export async function openResumeStore(): Promise<void> {
  await db();
}

async function store(mode: IDBTransactionMode, name = STORE): Promise<IDBObjectStore> {
  return (await db()).transaction(name, mode).objectStore(name);
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

export async function saveRecording(record: RecordingRecord): Promise<void> {
  await request((await store("readwrite", RECORDINGS)).put(record));
}

export async function loadRecording(uploadId: string): Promise<RecordingRecord | undefined> {
  return request((await store("readonly", RECORDINGS)).get(uploadId));
}

export async function deleteRecording(uploadId: string): Promise<void> {
  await request((await store("readwrite", RECORDINGS)).delete(uploadId));
}

export async function allRecordings(): Promise<RecordingRecord[]> {
  return request((await store("readonly", RECORDINGS)).getAll());
}
