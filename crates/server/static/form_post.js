// Submits the response form of response_mode=form_post (served as a file: the pages allow no inline script).
document.getElementById("form_post").submit();
