// Corral web page
