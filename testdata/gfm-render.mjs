// Renders Markdown from standard input to HTML with micromark and its GFM
// extension (tables, autolink literals), as GitHub renders a step summary
// or a pull-request comment. The tests run it when NEXTCORE_GFM_MODULES
// names a folder where `npm install micromark micromark-extension-gfm` ran.
import {createRequire} from 'node:module'
import fs from 'node:fs'
import path from 'node:path'

const require = createRequire(path.join(process.env.NEXTCORE_GFM_MODULES, 'package.json'))
const {micromark} = await import(require.resolve('micromark'))
const {gfm, gfmHtml} = await import(require.resolve('micromark-extension-gfm'))
process.stdout.write(micromark(fs.readFileSync(0, 'utf8'), {extensions: [gfm()], htmlExtensions: [gfmHtml()]}))
