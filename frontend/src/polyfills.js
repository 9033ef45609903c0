// Library calls newer than the bundle's ES2019 target (esbuild lowers syntax, not library calls).
// Imported first by upload.js: Uppy keeps a reference to Object.hasOwn when its modules load.
// With this, the uploader runs from about Chrome 80 and Safari 13.1 (iOS 13.4).

// Chrome 93, Safari 15.4.
if (!Object.hasOwn) {
  Object.hasOwn = (object, key) => Object.prototype.hasOwnProperty.call(object, key);
}
