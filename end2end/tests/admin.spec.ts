import { expect, test } from './fixtures/test';
import { gotoHydrated, invite, PASSWORD, SignInPage, uniqueEmail, WelcomePage } from './fixtures/spaceport';

test('waitlist → the admin invites from the entry → first sign-in; then the admin disables the account and its open page is signed out', async ({
  page,
  browser,
}) => {
  // An operator with the admin role.
  const adminEmail = uniqueEmail('boss');
  const signIn = new SignInPage(page);
  await signIn.open();
  await signIn.signIn(adminEmail, invite(adminEmail, true));
  await new WelcomePage(page).complete(`boss${Date.now() % 100000}`, PASSWORD);
  await expect(page).toHaveURL(/\/dashboard$/);

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
