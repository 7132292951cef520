// The token is posted once; the server answers with an HttpOnly session cookie that scripts cannot read.
document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("token");
  const error = document.getElementById("login-error");
  error.textContent = "";
  const response = await fetch("/api/login", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Vigil-CSRF": "1" },
    body: JSON.stringify({ token: input.value }),
    credentials: "same-origin",
  });
  input.value = "";
  if (response.ok) {
    window.location.assign("/");
  } else {
    error.textContent = response.status === 401 ? "Unknown token." : `Sign-in failed (${response.status}).`;
  }
});
