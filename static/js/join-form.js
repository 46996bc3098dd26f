// The join form at the site's root is a static page, the same for every phone
// (public/index.html): the join link's PIN (?pin=123456) is filled in here, and the cursor
// then waits on the nickname.

const form = document.querySelector("form.join-form");
const pin = new URLSearchParams(location.search).get("pin");
if (form && pin) {
  form.elements.pin.value = pin;
  form.elements.nickname.focus();
}
