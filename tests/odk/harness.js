// ODK's own form engine (@getodk/xforms-engine, the engine of ODK Web Forms) in the browser, for
// tests/test_odk_engine.py: load an XForm as fieldkit serves it, answer it through the engine's
// own API, and hand back the instance the engine prepares for submission (the FormData that
// ODK Web Forms POSTs: xml_submission_file and the attachments). Bundled by esbuild at test time.
import { createInstance, editInstance } from '@getodk/xforms-engine';

const localName = (node) => node.definition.qualifiedName?.localName ?? node.definition.nodeset.split('/').pop();

// fieldkit's answers (a dict per level, a list per repeat) walked against the engine's tree.
function answer(node, values, files) {
  for (const child of node.currentState.children ?? []) {
    const name = localName(child);
    const given = values[name];
    switch (child.nodeType) {
      case 'group':
        answer(child, values, files);
        break;
      case 'repeat-range:uncontrolled': {
        const rows = Array.isArray(given) ? given : [];
        const have = child.currentState.children.length;
        if (rows.length > have) child.addInstances(have - 1, rows.length - have);
        if (rows.length < have) child.removeInstances(rows.length, have - rows.length);
        child.currentState.children.forEach((instance, i) => answer(instance, rows[i] ?? {}, files));
        break;
      }
      case 'repeat-range:controlled': {
        const rows = Array.isArray(given) ? given : [];
        child.currentState.children.forEach((instance, i) => answer(instance, rows[i] ?? {}, files));
        break;
      }
      case 'select':
        if (given !== undefined && child.currentState.relevant) child.selectValues(given === '' ? [] : given.split(' '));
        break;
      case 'rank':
        if (given !== undefined && child.currentState.relevant) child.setValues(given === '' ? [] : given.split(' '));
        break;
      case 'upload':
        if (given && files[given] && child.currentState.relevant) {
          const bytes = Uint8Array.from(atob(files[given].data), (c) => c.charCodeAt(0));
          child.setValue(new File([bytes], given, { type: files[given].type }));
        }
        break;
      case 'input':
      case 'range':
        if (given !== undefined && given !== '' && child.currentState.relevant && !child.currentState.readonly) {
          child.setValue(given);
        }
        break;
      case 'trigger':
        if (given === 'OK' && child.currentState.relevant) child.setValue(true);
        break;
      default:
        break;  // notes, calculations (model values): the engine computes them
    }
  }
}

// The engine's values, read back as fieldkit's answers (a dict per level, a list per repeat).
function read(node) {
  const out = {};
  for (const child of node.currentState.children ?? []) {
    const name = localName(child);
    if (child.nodeType === 'group') Object.assign(out, read(child));
    else if (child.nodeType.startsWith('repeat-range')) out[name] = child.currentState.children.map(read);
    else if (child.nodeType === 'select' || child.nodeType === 'rank') out[name] = child.currentState.value.join(' ');
    else if (child.nodeType === 'upload') out[name] = child.currentState.instanceValue ?? '';
    else if (child.nodeType === 'trigger') out[name] = child.currentState.value ? 'OK' : '';
    else if ('value' in child.currentState && child.currentState.value !== null && typeof child.currentState.value !== 'object') {
      out[name] = String(child.currentState.value);
    } else if (child.currentState.instanceValue !== undefined) out[name] = child.currentState.instanceValue;
  }
  return out;
}

async function payloadOf(instance) {
  const payload = await instance.root.prepareInstancePayload({ payloadType: 'monolithic' });
  const data = payload.data[0];
  return { status: payload.status, data, xml: await data.get('xml_submission_file').text(),
           violations: (payload.violations ?? []).map((v) => v.reference ?? String(v)) };
}

window.fieldkitODK = {
  // Answer the XForm and POST what the engine prepared to url (fieldkit's OpenRosa submission).
  async submit(xform, answers, files, url) {
    const instance = await createInstance(xform);
    answer(instance.root, answers, files);
    const { status, data, xml, violations } = await payloadOf(instance);
    const response = await fetch(url, { method: 'POST', body: data });
    return { status, violations, xml, httpStatus: response.status, body: await response.text(),
             openRosaVersion: response.headers.get('X-OpenRosa-Version') };
  },
  // Load instance XML into the engine as an edit would, and read its values back.
  async edit(xform, instanceXml) {
    const instance = await editInstance(xform, {
      inputType: 'FORM_INSTANCE_INPUT_RESOLVABLE',
      resolveInstance: () => instanceXml,
      attachments: new Map(),
    });
    return read(instance.root);
  },
};
