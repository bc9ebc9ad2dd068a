/**
 * The built-in pet sprites: one drawing per type, with a face per health state. The popup shows
 * them when a pet has no picture (or while offline), and scripts/make-icons.mjs draws the toolbar
 * icons from them. Drawn on a 64x64 grid as plain [tag, attributes] lists, so the same data
 * becomes DOM nodes in the popup and markup in the icon script.
 */

export const SVG_NS = 'http://www.w3.org/2000/svg';
export const TYPES = ['pet', 'plant', 'robot', 'golem', 'blob'];

const BODY = { pet: '#f4a259', plant: '#6cc070', robot: '#8fb3d9', golem: '#a89a8a', blob: '#b48ee0' };
const INK = '#2d2a32';
const DEAD_BODY = '#c4c4c4';

function bodyShapes(type, fill) {
  const outline = { fill, stroke: INK, 'stroke-width': 2.5, 'stroke-linejoin': 'round' };
  switch (type) {
    case 'pet':
      return [
        ['path', { d: 'M12 26 L16 6 L28 18 Z', ...outline }],
        ['path', { d: 'M52 26 L48 6 L36 18 Z', ...outline }],
        ['ellipse', { cx: 32, cy: 36, rx: 24, ry: 22, ...outline }],
      ];
    case 'plant':
      return [
        ['path', { d: 'M32 16 C30 8 22 4 14 6 C18 14 24 17 32 16 Z', fill: '#3f9b49', stroke: INK, 'stroke-width': 2 }],
        ['path', { d: 'M18 46 L46 46 L42 62 L22 62 Z', fill: '#b5653a', stroke: INK, 'stroke-width': 2.5, 'stroke-linejoin': 'round' }],
        ['ellipse', { cx: 32, cy: 32, rx: 21, ry: 18, ...outline }],
      ];
    case 'robot':
      return [
        ['line', { x1: 32, y1: 4, x2: 32, y2: 14, stroke: INK, 'stroke-width': 2.5 }],
        ['circle', { cx: 32, cy: 5, r: 3.5, fill: '#e5534b', stroke: INK, 'stroke-width': 2 }],
        ['rect', { x: 10, y: 14, width: 44, height: 42, rx: 9, ...outline }],
      ];
    case 'golem':
      return [['path', { d: 'M14 20 L26 9 L42 10 L53 22 L56 44 L46 58 L20 58 L9 44 Z', ...outline }]];
    default:
      return [['path', { d: 'M8 50 C6 30 16 10 32 10 C48 10 58 30 56 50 C54 60 10 60 8 50 Z', ...outline }]];
  }
}

function faceShapes(state) {
  const ink = { stroke: INK, 'stroke-width': 2.5, 'stroke-linecap': 'round', fill: 'none' };
  const eyes = {
    open: [
      ['circle', { cx: 23, cy: 34, r: 4, fill: INK }],
      ['circle', { cx: 41, cy: 34, r: 4, fill: INK }],
      ['circle', { cx: 24.5, cy: 32.5, r: 1.3, fill: '#fff' }],
      ['circle', { cx: 42.5, cy: 32.5, r: 1.3, fill: '#fff' }],
    ],
    happy: [
      ['path', { d: 'M19 35 Q23 29 27 35', ...ink }],
      ['path', { d: 'M37 35 Q41 29 45 35', ...ink }],
    ],
    tired: [
      ['path', { d: 'M19 34 L27 34', ...ink }],
      ['path', { d: 'M37 34 L45 34', ...ink }],
    ],
    dead: [
      ['path', { d: 'M19 30 L27 38 M27 30 L19 38', ...ink }],
      ['path', { d: 'M37 30 L45 38 M45 30 L37 38', ...ink }],
    ],
  };
  const mouths = {
    grin: ['path', { d: 'M25 43 Q32 51 39 43 Z', fill: INK, stroke: INK, 'stroke-width': 2, 'stroke-linejoin': 'round' }],
    smile: ['path', { d: 'M26 44 Q32 49 38 44', ...ink }],
    flat: ['path', { d: 'M27 46 L37 46', ...ink }],
    frown: ['path', { d: 'M26 48 Q32 43 38 48', ...ink }],
  };
  const blush = [
    ['ellipse', { cx: 17, cy: 42, rx: 3.5, ry: 2, fill: '#ff8fa3', opacity: 0.8 }],
    ['ellipse', { cx: 47, cy: 42, rx: 3.5, ry: 2, fill: '#ff8fa3', opacity: 0.8 }],
  ];
  const sweat = ['path', { d: 'M50 22 Q54 28 50 30 Q46 28 50 22 Z', fill: '#7cc4ff', stroke: INK, 'stroke-width': 1.2 }];
  switch (state) {
    case 'thriving':
      return [...eyes.happy, mouths.grin, ...blush];
    case 'healthy':
      return [...eyes.open, mouths.smile];
    case 'okay':
      return [...eyes.open, mouths.flat];
    case 'poor':
      return [...eyes.tired, mouths.frown];
    case 'dying':
      return [...eyes.tired, mouths.frown, sweat];
    default: // dead
      return [...eyes.dead, mouths.flat];
  }
}

/** The drawing for a pet type in a display state ('thriving' … 'dying', or 'dead'). */
export function spriteShapes(type, state) {
  const kind = TYPES.includes(type) ? type : 'blob';
  return [...bodyShapes(kind, state === 'dead' ? DEAD_BODY : BODY[kind]), ...faceShapes(state)];
}

/** An <svg> element for the popup. */
export function spriteSvg(doc, type, state, size = 96) {
  const svg = doc.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 64 64');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${type} sprite, ${state}`);
  svg.setAttribute('data-sprite', `${type}:${state}`);
  for (const [tag, attrs] of spriteShapes(type, state)) {
    const node = doc.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
    svg.append(node);
  }
  return svg;
}

/** The same drawing as standalone SVG markup (for the icon generator and the committed sprite sheet). */
export function spriteMarkup(type, state, size = 64) {
  const body = spriteShapes(type, state)
    .map(([tag, attrs]) => {
      const text = Object.entries(attrs)
        .map(([name, value]) => `${name}="${value}"`)
        .join(' ');
      return `<${tag} ${text}/>`;
    })
    .join('');
  return `<svg xmlns="${SVG_NS}" viewBox="0 0 64 64" width="${size}" height="${size}">${body}</svg>`;
}
