// The 線表 page: turns the chart's SVG file into a PNG in the browser (no image library on the server) and
// downloads it under the page's file name.
const button = document.getElementById("gantt-png");
if (button) {
  button.hidden = false;
  button.addEventListener("click", () => {
    const image = new Image();
    image.addEventListener("load", () => {
      const canvas = document.createElement("canvas");
      canvas.width = image.naturalWidth;
      canvas.height = image.naturalHeight;
      const context = canvas.getContext("2d");
      context.fillStyle = "#ffffff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(image, 0, 0);
      const link = document.createElement("a");
      link.download = button.dataset.name;
      link.href = canvas.toDataURL("image/png");
      document.body.append(link);
      link.click();
      link.remove();
    });
    image.src = button.dataset.svg;
  });
}
