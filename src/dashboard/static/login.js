// Show the failure note when the server sent us back here (no inline script: the CSP forbids it).
if (new URLSearchParams(location.search).has('failed')) document.getElementById('failed').hidden = false;
