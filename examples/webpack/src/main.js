// The app: the shared example page script, bundled by webpack.
import "../../shared/app.js";
