/// The QR reader of the token forms: an image chosen in a file field marked `data-qr-target` is read in the browser
/// (it is never uploaded) and the text of the QR code it shows (an `otpauth://` URI) fills the field that attribute
/// names. A screenshot of a QR code or an exported image, level L, M, Q or H, versions 1 to 40, the code upright;
/// every block is checked against its Reed–Solomon codewords (errors are not corrected: a code read with an error
/// is refused, and the page says to paste the URI instead). Part of the dashboard's one script (`HTML.script`).
extension HTML {
    static let qrReader = #"""
        (function () {
          var fields = document.querySelectorAll('input[type=file][data-qr-target]');
          if (!fields.length) { return; }
          // Error-correction codewords per block, and blocks, for levels L, M, Q, H (rows) and versions 1 to 40.
          var ECC = [
            [7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
            [10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28],
            [13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30, 28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
            [17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28, 30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30]];
          var BLOCKS = [
            [1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25],
            [1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49],
            [1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, 23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68],
            [1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25, 25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81]];
          // The format's two level bits (00 M, 01 L, 10 H, 11 Q) as the tables' row.
          var LEVEL_ROW = [1, 0, 3, 2];
          var EXP = [], LOG = [];
          (function () { for (var i = 0, x = 1; i < 255; i++) { EXP[i] = x; LOG[x] = i; x <<= 1; if (x & 0x100) { x ^= 0x11D; } } })();

          function rawModules(version) {
            var result = (16 * version + 128) * version + 64;
            if (version >= 2) {
              var count = Math.floor(version / 7) + 2;
              result -= (25 * count - 10) * count - 55;
              if (version >= 7) { result -= 36; }
            }
            return result;
          }
          function alignment(version) {
            if (version === 1) { return []; }
            var count = Math.floor(version / 7) + 2, step = version === 32 ? 26 : Math.floor((version * 4 + count * 2 + 1) / (count * 2 - 2)) * 2;
            var positions = [6];
            for (var i = count - 1, position = version * 4 + 10; i >= 1; i--, position -= step) { positions.splice(1, 0, position); }
            return positions;
          }
          // Which modules of a symbol are not data: finders with their separators and format areas, timing patterns,
          // alignment patterns, version areas.
          function functionModules(version) {
            var size = version * 4 + 17, map = [];
            for (var y = 0; y < size; y++) { map.push(new Array(size).fill(false)); }
            function fill(left, top, width, height) {
              for (var y = top; y < top + height; y++) { for (var x = left; x < left + width; x++) { map[y][x] = true; } }
            }
            fill(6, 0, 1, size); fill(0, 6, size, 1);
            fill(0, 0, 9, 9); fill(size - 8, 0, 8, 9); fill(0, size - 8, 9, 8);
            var centres = alignment(version), last = centres.length - 1;
            centres.forEach(function (cx, i) {
              centres.forEach(function (cy, j) {
                if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) { return; }
                fill(cx - 2, cy - 2, 5, 5);
              });
            });
            if (version >= 7) { fill(size - 11, 0, 3, 6); fill(0, size - 11, 6, 3); }
            return map;
          }
          function masked(mask, x, y) {
            switch (mask) {
              case 0: return (x + y) % 2 === 0;
              case 1: return y % 2 === 0;
              case 2: return x % 3 === 0;
              case 3: return (x + y) % 3 === 0;
              case 4: return (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0;
              case 5: return x * y % 2 + x * y % 3 === 0;
              case 6: return (x * y % 2 + x * y % 3) % 2 === 0;
              default: return ((x + y) % 2 + x * y % 3) % 2 === 0;
            }
          }
          // The level and mask of the two format copies: the nearest of the 32 BCH codewords, at most 3 bits away.
          function format(copies) {
            var best = null;
            for (var data = 0; data < 32; data++) {
              var remainder = data;
              for (var i = 0; i < 10; i++) { remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537); }
              var code = ((data << 10) | remainder) ^ 0x5412;
              copies.forEach(function (copy) {
                var distance = 0;
                for (var bits = code ^ copy; bits; bits &= bits - 1) { distance++; }
                if (distance <= 3 && (!best || distance < best.distance)) { best = { distance: distance, row: LEVEL_ROW[data >> 3], mask: data & 7 }; }
              });
            }
            return best;
          }
          function syndromesZero(block, eccLength) {
            for (var k = 0; k < eccLength; k++) {
              var value = 0;
              for (var i = 0; i < block.length; i++) { value = (value === 0 ? 0 : EXP[(LOG[value] + k) % 255]) ^ block[i]; }
              if (value !== 0) { return false; }
            }
            return true;
          }
          // The text of the symbol whose module (x, y) is `dark(x, y)`, or null when it does not read cleanly.
          function decodeSymbol(version, dark) {
            var size = version * 4 + 17, first = 0, second = 0, i;
            for (i = 0; i <= 5; i++) { first |= dark(8, i) << i; }
            first |= dark(8, 7) << 6; first |= dark(8, 8) << 7; first |= dark(7, 8) << 8;
            for (i = 9; i < 15; i++) { first |= dark(14 - i, 8) << i; }
            for (i = 0; i < 8; i++) { second |= dark(size - 1 - i, 8) << i; }
            for (i = 8; i < 15; i++) { second |= dark(8, size - 15 + i) << i; }
            var info = format([first, second]);
            if (!info) { return null; }
            var map = functionModules(version), raw = Math.floor(rawModules(version) / 8), codewords = new Array(raw).fill(0), index = 0;
            for (var right = size - 1; right >= 1; right -= 2) {
              if (right === 6) { right = 5; }
              for (var vertical = 0; vertical < size; vertical++) {
                for (var j = 0; j < 2; j++) {
                  var x = right - j, y = ((right + 1) & 2) === 0 ? size - 1 - vertical : vertical;
                  if (map[y][x] || index >= raw * 8) { continue; }
                  if (dark(x, y) ^ masked(info.mask, x, y)) { codewords[index >> 3] |= 0x80 >> (index & 7); }
                  index++;
                }
              }
            }
            var count = BLOCKS[info.row][version - 1], eccLength = ECC[info.row][version - 1];
            var short = count - raw % count, shortData = Math.floor(raw / count) - eccLength, blocks = [], position = 0, b;
            for (b = 0; b < count; b++) { blocks.push([]); }
            for (i = 0; i <= shortData; i++) {
              for (b = 0; b < count; b++) { if (i < shortData || b >= short) { blocks[b].push(codewords[position++]); } }
            }
            for (i = 0; i < eccLength; i++) { for (b = 0; b < count; b++) { blocks[b].push(codewords[position++]); } }
            var data = [];
            for (b = 0; b < count; b++) {
              if (!syndromesZero(blocks[b], eccLength)) { return null; }
              data = data.concat(blocks[b].slice(0, blocks[b].length - eccLength));
            }
            return segments(data, version);
          }
          // Numeric, alphanumeric and byte segments (ECI designators skipped; bytes read as UTF-8).
          function segments(data, version) {
            var bit = 0, bytes = [], text = '';
            function read(n) {
              var value = 0;
              for (var i = 0; i < n; i++, bit++) { value = (value << 1) | ((data[bit >> 3] >> (7 - (bit & 7))) & 1); }
              return value;
            }
            var group = version <= 9 ? 0 : version <= 26 ? 1 : 2, alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
            function flush() { if (bytes.length) { text += new TextDecoder().decode(new Uint8Array(bytes)); bytes = []; } }
            while (bit + 4 <= data.length * 8) {
              var mode = read(4), length, i;
              if (mode === 0) { break; }
              if (mode === 7) { if (!read(1)) { read(7); } else if (!read(1)) { read(14); } else { read(22); } continue; }
              if (mode === 4) {
                length = read([8, 16, 16][group]);
                for (i = 0; i < length; i++) { bytes.push(read(8)); }
              } else if (mode === 2) {
                flush();
                length = read([9, 11, 13][group]);
                for (i = 0; i + 1 < length; i += 2) { var pair = read(11); text += alphabet[Math.floor(pair / 45)] + alphabet[pair % 45]; }
                if (length % 2) { text += alphabet[read(6)]; }
              } else if (mode === 1) {
                flush();
                length = read([10, 12, 14][group]);
                for (i = 0; i + 2 < length; i += 3) { text += String(read(10)).padStart(3, '0'); }
                if (length % 3 === 2) { text += String(read(7)).padStart(2, '0'); } else if (length % 3 === 1) { text += String(read(4)); }
              } else { return null; }
            }
            flush();
            return text;
          }
          // The three finder patterns (1:1:3:1:1 across and down) of the picture `dark[y * width + x]`.
          function finders(dark, width, height) {
            var found = [];
            function at(x, y) { return x >= 0 && y >= 0 && x < width && y < height && dark[y * width + x] === 1; }
            function fits(runs) {
              var total = runs.reduce(function (a, b) { return a + b; }, 0), unit = total / 7;
              if (unit < 1) { return 0; }
              var expected = [1, 1, 3, 1, 1];
              for (var i = 0; i < 5; i++) { if (Math.abs(runs[i] - expected[i] * unit) >= expected[i] * Math.max(unit / 2, 0.75)) { return 0; } }
              return unit;
            }
            function down(x, y, limit) {
              var runs = [0, 0, 0, 0, 0], i = y;
              while (at(x, i)) { runs[2]++; i--; }
              var top = i + 1;
              while (i >= 0 && !at(x, i) && runs[1] <= limit) { runs[1]++; i--; }
              while (at(x, i) && runs[0] <= limit) { runs[0]++; i--; }
              i = y + 1;
              while (at(x, i)) { runs[2]++; i++; }
              while (i < height && !at(x, i) && runs[3] <= limit) { runs[3]++; i++; }
              while (at(x, i) && runs[4] <= limit) { runs[4]++; i++; }
              return fits(runs) ? { centre: top + runs[2] / 2, unit: fits(runs) } : null;
            }
            for (var y = 0; y < height; y++) {
              var runs = [], start = 0;
              for (var x = 1; x <= width; x++) {
                if (x === width || dark[y * width + x] !== dark[y * width + x - 1]) { runs.push({ dark: dark[y * width + start] === 1, start: start, length: x - start }); start = x; }
              }
              for (var i = 0; i + 4 < runs.length; i++) {
                if (!runs[i].dark) { continue; }
                var lengths = runs.slice(i, i + 5).map(function (run) { return run.length; }), unit = fits(lengths);
                if (!unit) { continue; }
                var cx = runs[i + 2].start + runs[i + 2].length / 2, vertical = down(Math.floor(cx), y, unit * 4);
                if (!vertical) { continue; }
                var point = { x: cx, y: vertical.centre, unit: (unit + vertical.unit) / 2, count: 1 };
                var near = found.find(function (other) { return Math.abs(other.x - point.x) <= point.unit * 2 && Math.abs(other.y - point.y) <= point.unit * 2; });
                if (near) {
                  near.x = (near.x * near.count + point.x) / (near.count + 1); near.y = (near.y * near.count + point.y) / (near.count + 1);
                  near.unit = (near.unit * near.count + point.unit) / (near.count + 1); near.count++;
                } else { found.push(point); }
              }
            }
            // Of the candidates seen most often, the three that stand as a code's finders do: about one module size,
            // two equal sides at a right angle.
            var candidates = found.sort(function (a, b) { return b.count - a.count; }).slice(0, 16), best = null;
            function distance(a, b) { return Math.hypot(a.x - b.x, a.y - b.y); }
            for (var a = 0; a < candidates.length; a++) {
              for (var b = a + 1; b < candidates.length; b++) {
                for (var c = b + 1; c < candidates.length; c++) {
                  var three = [candidates[a], candidates[b], candidates[c]], units = three.map(function (point) { return point.unit; });
                  if (Math.max.apply(null, units) > 1.5 * Math.min.apply(null, units)) { continue; }
                  var sides = [distance(three[1], three[2]), distance(three[0], three[2]), distance(three[0], three[1])].sort(function (p, q) { return p - q; });
                  var unit = (units[0] + units[1] + units[2]) / 3;
                  if (sides[0] < 10 * unit || sides[1] > 1.15 * sides[0] || Math.abs(sides[2] - Math.SQRT2 * (sides[0] + sides[1]) / 2) > 0.1 * sides[2]) { continue; }
                  var score = three[0].count + three[1].count + three[2].count;
                  if (!best || score > best.score) { best = { score: score, points: three }; }
                }
              }
            }
            return best ? best.points : [];
          }
          // The text of the QR code in `image` (ImageData), or null.
          function read(image) {
            var width = image.width, height = image.height, pixels = image.data, grey = new Uint8Array(width * height), histogram = new Array(256).fill(0);
            for (var i = 0; i < width * height; i++) {
              var alpha = pixels[i * 4 + 3] / 255;
              var value = Math.round((pixels[i * 4] * 299 + pixels[i * 4 + 1] * 587 + pixels[i * 4 + 2] * 114) / 1000 * alpha + 255 * (1 - alpha));
              grey[i] = value; histogram[value]++;
            }
            // Otsu's threshold: the split of the histogram with the largest variance between its two sides.
            var total = width * height, sum = 0, below = 0, belowSum = 0, best = 0, threshold = 128;
            for (var t = 0; t < 256; t++) { sum += t * histogram[t]; }
            for (t = 0; t < 256; t++) {
              below += histogram[t]; if (!below || below === total) { continue; }
              belowSum += t * histogram[t];
              var between = below * (total - below) * Math.pow(belowSum / below - (sum - belowSum) / (total - below), 2);
              if (between > best) { best = between; threshold = t; }
            }
            var dark = new Uint8Array(width * height);
            for (i = 0; i < width * height; i++) { dark[i] = grey[i] <= threshold ? 1 : 0; }
            var points = finders(dark, width, height);
            if (points.length < 3) { return null; }
            function distance(a, b) { return Math.hypot(a.x - b.x, a.y - b.y); }
            // The top-left finder is the corner opposite the longest side; the other two by the turn's direction.
            var sides = [[0, 1, 2], [1, 0, 2], [2, 0, 1]].map(function (order) { return { order: order, length: distance(points[order[1]], points[order[2]]) }; });
            var corner = sides.sort(function (a, b) { return b.length - a.length; })[0].order;
            var topLeft = points[corner[0]], right = points[corner[1]], bottom = points[corner[2]];
            if ((right.x - topLeft.x) * (bottom.y - topLeft.y) - (right.y - topLeft.y) * (bottom.x - topLeft.x) < 0) { var swap = right; right = bottom; bottom = swap; }
            var unit = (topLeft.unit + right.unit + bottom.unit) / 3;
            var across = (distance(topLeft, right) + distance(topLeft, bottom)) / 2 / unit + 7;
            var estimate = Math.round((across - 17) / 4);
            for (var offset of [0, -1, 1, -2, 2]) {
              var version = estimate + offset;
              if (version < 1 || version > 40) { continue; }
              var size = version * 4 + 17;
              var text = decodeSymbol(version, function (x, y) {
                var u = (x + 0.5 - 3.5) / (size - 7), v = (y + 0.5 - 3.5) / (size - 7);
                var px = Math.round(topLeft.x + u * (right.x - topLeft.x) + v * (bottom.x - topLeft.x));
                var py = Math.round(topLeft.y + u * (right.y - topLeft.y) + v * (bottom.y - topLeft.y));
                return px >= 0 && py >= 0 && px < width && py < height ? dark[py * width + px] : 0;
              });
              if (text !== null) { return text; }
            }
            return null;
          }
          fields.forEach(function (field) {
            var status = document.getElementById(field.id + '-status');
            function say(text) { if (status) { status.textContent = text; } }
            field.addEventListener('change', function () {
              var file = field.files && field.files[0];
              if (!file) { return; }
              say('Reading the QR code…');
              createImageBitmap(file).then(function (bitmap) {
                // Large pictures are scaled down to at most 1600 pixels a side (a QR code stays readable).
                var scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
                var canvas = document.createElement('canvas');
                canvas.width = Math.max(1, Math.round(bitmap.width * scale)); canvas.height = Math.max(1, Math.round(bitmap.height * scale));
                var context = canvas.getContext('2d', { willReadFrequently: true });
                context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
                var text = read(context.getImageData(0, 0, canvas.width, canvas.height));
                if (text === null) { say('No QR code could be read from this image: paste its otpauth:// URI instead.'); return; }
                if (text.indexOf('otpauth://') !== 0) { say('The QR code holds no otpauth:// URI.'); return; }
                document.getElementById(field.dataset.qrTarget).value = text;
                var label = (text.split('?')[0].split('/')[3] || '').replace(/\+/g, ' ');
                try { label = decodeURIComponent(label); } catch (error) { /* shown as it is */ }
                say('QR code read: ' + (label || 'a token') + '. Its URI is in the field above; nothing was uploaded.');
              }).catch(function () { say('This file is not an image the browser can open.'); });
            });
          });
        })();
        """#
}
