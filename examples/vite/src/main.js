// The app: the shared example page script, bundled by Vite.
import "../../shared/app.js";
