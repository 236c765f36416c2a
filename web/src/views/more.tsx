/** On a phone the bottom bar holds four views; the others are one tap away here. */
import { VIEWS } from '../views.js';

export function MoreView() {
  return (
    <>
      <h1>More</h1>
      <ul class="menu">
        {VIEWS.filter((v) => !v.primary).map((v) => (
          <li key={v.id}><a class="menu-link" href={`#/${v.id}`}>{v.label}</a></li>
        ))}
      </ul>
    </>
  );
}
