// Reads an MPEG-DASH manifest the way a player does, far enough to list its
// representations and every file they name (SegmentTemplate with either a
// SegmentTimeline or a fixed duration).
function attr(tag, name) {
  const match = tag.match(new RegExp(`\\b${name}="([^"]*)"`));
  return match ? match[1] : undefined;
}

export function parseIsoDuration(text) {
  const match = text.match(/^PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$/);
  if (!match) throw new Error(`not an ISO duration: ${text}`);
  return (Number(match[1] || 0) * 3600) + (Number(match[2] || 0) * 60) + Number(match[3] || 0);
}

function expand(template, id, number) {
  return template
    .replaceAll('$RepresentationID$', id)
    .replace(/\$Number(?:%0(\d+)d)?\$/g, (_, width) => String(number).padStart(Number(width || 0), '0'));
}

function segmentCount(template, block, totalSeconds) {
  const timeline = block.match(/<SegmentTimeline>([\s\S]*?)<\/SegmentTimeline>/);
  if (timeline) {
    return [...timeline[1].matchAll(/<S\b[^>]*>/g)]
      .reduce((count, [s]) => count + 1 + Number(attr(s, 'r') || 0), 0);
  }
  const timescale = Number(attr(template, 'timescale') || 1);
  return Math.ceil((totalSeconds * timescale) / Number(attr(template, 'duration')) - 1e-6);
}

export function parseManifest(xml) {
  const totalSeconds = parseIsoDuration(attr(xml.match(/<MPD\b[^>]*>/)[0], 'mediaPresentationDuration'));
  const representations = [];
  for (const [set] of xml.matchAll(/<AdaptationSet\b[\s\S]*?<\/AdaptationSet>/g)) {
    const setTemplate = set.match(/<SegmentTemplate\b[^>]*>/);
    for (const [block] of set.matchAll(/<Representation\b[\s\S]*?(?:<\/Representation>|\/>)/g)) {
      const tag = block.match(/<Representation\b[^>]*>/)[0];
      const template = (block.match(/<SegmentTemplate\b[^>]*>/) || setTemplate)[0];
      const id = attr(tag, 'id');
      const start = Number(attr(template, 'startNumber') || 1);
      const count = segmentCount(template, block.includes('SegmentTimeline') ? block : set, totalSeconds);
      const files = [expand(attr(template, 'initialization'), id, 0)];
      for (let n = start; n < start + count; n++) files.push(expand(attr(template, 'media'), id, n));
      representations.push({
        id,
        mimeType: attr(tag, 'mimeType') || attr(set.match(/<AdaptationSet\b[^>]*>/)[0], 'mimeType') || '',
        contentType: attr(set.match(/<AdaptationSet\b[^>]*>/)[0], 'contentType') || '',
        width: Number(attr(tag, 'width') || 0),
        height: Number(attr(tag, 'height') || 0),
        files,
      });
    }
  }
  return { totalSeconds, representations };
}
