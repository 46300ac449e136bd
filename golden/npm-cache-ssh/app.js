const greet = require('greeting');
console.log(greet('rockerc'));
