import { expect, test } from './fixtures/test';
import {
  gotoHydrated,
  PASSWORD,
  projectWithPhotos,
  SignInPage,
  signUpAdmin,
  signUpAndSignIn,
  uniqueEmail,
  WelcomePage,
} from './fixtures/spaceport';
import { orbitZip } from './fixtures/photos';

test('waitlist → the admin invites from the entry → first sign-in; then the admin disables the account and its open page is signed out', async ({
  page,
  browser,
}) => {
  // An operator with the admin role.
  await signUpAdmin(page, 'boss');

  // A visitor joins the waitlist from the landing page.
  const visitor = await browser.newContext();
  const landing = await visitor.newPage();
  const email = uniqueEmail('eager');
  await gotoHydrated(landing, '/');
  await landing.getByLabel('Email').fill(email);
  await landing.getByLabel('What will you fly?').fill('Mavic 3, farms');
  await landing.getByRole('button', { name: 'Join the waitlist' }).click();
  await expect(landing.getByRole('status')).toContainText("you're on the list");

  // The admin invites them straight from their waitlist entry.
  await gotoHydrated(page, '/admin');
  const users = page.locator('section', { has: page.getByRole('heading', { name: /^Users/ }) });
  const waitlist = page.locator('section', { has: page.getByRole('heading', { name: /^Waitlist/ }) });
  const entry = waitlist.getByRole('row', { name: new RegExp(email) });
  await expect(entry).toContainText('Mavic 3, farms');
  await entry.getByRole('button', { name: 'Invite' }).click();
  const notice = page.getByRole('status').filter({ hasText: 'Temporary password' });
  await expect(notice).toContainText(email);
  const temporary = (await notice.locator('code').textContent())!.trim();
  await expect(entry).toContainText('invited');
  await page.screenshot({ path: test.info().outputPath('admin.png'), fullPage: true });

  // They sign in with it and choose their own password.
  const visitorSignIn = new SignInPage(landing);
  await visitorSignIn.open();
  await visitorSignIn.signIn(email, temporary);
  await new WelcomePage(landing).complete(`eager${Date.now() % 100000}`, PASSWORD);
  await expect(landing).toHaveURL(/\/dashboard$/);

  // The admin disables the account: the user's open page is signed out at its next request.
  await page.reload();
  const userRow = users.getByRole('row', { name: new RegExp(email) });
  await userRow.getByRole('button', { name: 'Disable' }).click();
  await expect(userRow).toContainText('disabled');
  await landing.reload();
  await expect(landing).toHaveURL(/\/signin/);
  await visitorSignIn.signIn(email, PASSWORD);
  await expect(landing.getByRole('alert')).toContainText('This account is disabled');

  // Enabled again, they are back in.
  await userRow.getByRole('button', { name: 'Enable' }).click();
  await expect(userRow).toContainText('active');
  await visitorSignIn.signIn(email, PASSWORD);
  await expect(landing).toHaveURL(/\/dashboard$/);
  await visitor.close();
});

test("an admin sees another user's running job and stops it", async ({ page, browser }) => {
  test.setTimeout(3 * 60_000);
  const zip = orbitZip(8);
  await signUpAdmin(page, 'ops');

  // A pilot starts processing (the preview preset: minutes of work on this machine).
  const pilotContext = await browser.newContext();
  const pilot = await pilotContext.newPage();
  const { email } = await signUpAndSignIn(pilot, 'busy');
  await projectWithPhotos(pilot, 'Long survey', zip);
  await pilot.getByRole('button', { name: 'Start processing' }).click();
  const job = pilot.getByTestId('job');
  await expect(job).toHaveAttribute('data-status', /queued|running/, { timeout: 15_000 });

  // The admin sees it among the running jobs, with its owner, and stops it.
  await gotoHydrated(page, '/admin');
  const jobs = page.locator('section', { has: page.getByRole('heading', { name: /^Jobs running/ }) });
  const row = jobs.getByRole('row', { name: new RegExp(email) });
  await expect(row).toContainText('Long survey');
  await row.getByRole('button', { name: 'Stop' }).click();
  await expect(row).toContainText('cancelling');

  // The pilot's page shows the job stopped, and it leaves the admin's list.
  await expect(job).toHaveAttribute('data-status', 'cancelled', { timeout: 30_000 });
  await page.reload();
  await expect(jobs).toContainText('No job is queued or running.');
  await pilotContext.close();
});
